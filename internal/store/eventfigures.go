package store

import (
	"encoding/json"
	"strconv"
)

// readFigures reads the fields of an event the rollups need. It gives
// exactly what json.Unmarshal into RequestFigures gives; a flat object of
// plain strings, numbers and literals (what the server's producers write)
// is read by a scanner of its own, several times faster, and anything else
// (nesting, escapes, non-ASCII text, keys differing only in case, numbers
// out of range, invalid JSON) is left to json.Unmarshal.
func readFigures(doc []byte) RequestFigures {
	if f, ok := scanFlat(doc); ok {
		return f
	}
	var f RequestFigures
	_ = json.Unmarshal(doc, &f) // a malformed payload still counts as an event
	return f
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// scanFlat reads doc when it is a flat JSON object of the simple kind
// readFigures describes; ok is false for anything else.
func scanFlat(doc []byte) (f RequestFigures, ok bool) {
	i, n := 0, len(doc)
	skip := func() {
		for i < n && isSpace(doc[i]) {
			i++
		}
	}
	// str reads a string without escapes or bytes outside printable ASCII.
	str := func() ([]byte, bool) {
		if i >= n || doc[i] != '"' {
			return nil, false
		}
		start := i + 1
		for j := start; j < n; j++ {
			switch c := doc[j]; {
			case c == '"':
				i = j + 1
				return doc[start:j], true
			case c == '\\' || c < 0x20 || c >= 0x80:
				return nil, false
			}
		}
		return nil, false
	}
	skip()
	if i >= n || doc[i] != '{' {
		return f, false
	}
	i++
	skip()
	if i < n && doc[i] == '}' {
		i++
		skip()
		return f, i == n
	}
	for {
		skip()
		key, good := str()
		if !good {
			return f, false
		}
		skip()
		if i >= n || doc[i] != ':' {
			return f, false
		}
		i++
		skip()
		if i >= n {
			return f, false
		}
		field := string(key)
		switch field {
		case "duration_ms", "status", "user_id", "route", "method":
		default:
			if foldsToField(key) {
				return f, false // json.Unmarshal matches keys case-insensitively
			}
			field = ""
		}
		switch c := doc[i]; {
		case c == '"':
			v, good := str()
			if !good {
				return f, false
			}
			switch field {
			case "user_id":
				f.UserID = string(v)
			case "route":
				f.Route = string(v)
			case "method":
				f.Method = string(v)
			}
			// A string for a number field is a type error: the field stays.
		case c == '-' || (c >= '0' && c <= '9'):
			end := numberEnd(doc, i)
			if end < 0 {
				return f, false
			}
			if field == "duration_ms" || field == "status" {
				v, err := strconv.ParseFloat(string(doc[i:end]), 64)
				if err != nil {
					return f, false
				}
				if field == "duration_ms" {
					f.DurationMS = v
				} else {
					f.Status = v
				}
			}
			// A number for a string field is a type error: the field stays.
			i = end
		case c == 't' || c == 'f' || c == 'n':
			lit := "null"
			if c == 't' {
				lit = "true"
			} else if c == 'f' {
				lit = "false"
			}
			if n-i < len(lit) || string(doc[i:i+len(lit)]) != lit {
				return f, false
			}
			i += len(lit)
			if c == 'n' {
				break // null leaves the field as it is
			}
			// A boolean for any of the fields is a type error: it stays.
		default:
			return f, false // an object, an array, or not JSON
		}
		skip()
		if i >= n {
			return f, false
		}
		if doc[i] == ',' {
			i++
			continue
		}
		if doc[i] != '}' {
			return f, false
		}
		i++
		skip()
		return f, i == n
	}
}

// foldsToField reports whether key is one of the figure fields in another
// case.
func foldsToField(key []byte) bool {
	for _, name := range [...]string{"duration_ms", "status", "user_id", "route", "method"} {
		if len(key) != len(name) {
			continue
		}
		same := true
		for j := range key {
			c := key[j]
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != name[j] {
				same = false
				break
			}
		}
		if same {
			return true
		}
	}
	return false
}

// numberEnd returns where the JSON number starting at doc[i] ends, or -1
// when it is not one.
func numberEnd(doc []byte, i int) int {
	n := len(doc)
	digits := func() int {
		start := i
		for i < n && doc[i] >= '0' && doc[i] <= '9' {
			i++
		}
		return i - start
	}
	if i < n && doc[i] == '-' {
		i++
	}
	switch {
	case i < n && doc[i] == '0':
		i++
	case digits() == 0:
		return -1
	}
	if i < n && doc[i] == '.' {
		i++
		if digits() == 0 {
			return -1
		}
	}
	if i < n && (doc[i] == 'e' || doc[i] == 'E') {
		i++
		if i < n && (doc[i] == '+' || doc[i] == '-') {
			i++
		}
		if digits() == 0 {
			return -1
		}
	}
	return i
}
