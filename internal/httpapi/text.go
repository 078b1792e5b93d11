package httpapi

import (
	"bytes"
	"encoding/json"
	"mime"
	"net/http"
	"net/url"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/shimizu-tech/ordersuite/internal/apperr"
	"github.com/shimizu-tech/ordersuite/internal/store"
)

// Text is text: every string that reaches the database is valid UTF-8 and
// holds no NUL. PostgreSQL refuses both (SQLSTATE 22P05 or 22021) while
// SQLite stores them, so letting them through would make the engines
// disagree; refusing them here, with a 400 that names the field, gives one
// answer on both. The checks run once, on the raw request: the JSON body
// before it is decoded (encoding/json would quietly replace invalid UTF-8
// and lone surrogates with U+FFFD), and every path parameter, query
// parameter and input header before a handler sees them.

// textProblem says what is wrong with s as text, or "" when nothing is.
func textProblem(s string) string {
	if !utf8.ValidString(s) {
		return "must be valid UTF-8"
	}
	if strings.IndexByte(s, 0) >= 0 {
		return "must not contain NUL characters"
	}
	return ""
}

// inputHeaders are the request headers the API reads as input.
var inputHeaders = []string{TenantHeader, IdempotencyHeader}

// inputHeaderKeys are inputHeaders in canonical form (see tenantHeaderKey).
var inputHeaderKeys = []string{tenantHeaderKey, http.CanonicalHeaderKey(IdempotencyHeader)}

// paramsOfPattern caches each route pattern's parameter names: matching the
// pattern on every request cost more than the rest of the check.
var paramsOfPattern sync.Map // pattern → []string

func patternParams(pattern string) []string {
	if v, ok := paramsOfPattern.Load(pattern); ok {
		return v.([]string)
	}
	var names []string
	for _, m := range pathParams.FindAllStringSubmatch(pattern, -1) {
		names = append(names, m[1])
	}
	paramsOfPattern.Store(pattern, names)
	return names
}

// checkRequestText refuses a request whose path parameters, query
// parameters or input headers are not text, and writes upper-case UUIDs
// in them in lower case: ids are compared as text on SQLite and as UUIDs
// on PostgreSQL, so one spelling makes both engines answer alike.
func checkRequestText(rt Route, r *http.Request) error {
	for _, name := range patternParams(rt.Pattern) {
		v := r.PathValue(name)
		if p := textProblem(v); p != "" {
			return apperr.InvalidField(name, "%s", p)
		}
		r.SetPathValue(name, canonicalID(v))
	}
	if r.URL.RawQuery != "" {
		if p := textProblem(r.URL.RawQuery); p != "" {
			// A raw query is ASCII unless the client skipped escaping.
			return apperr.InvalidField("query", "%s", p)
		}
		q, err := url.ParseQuery(r.URL.RawQuery)
		if err != nil {
			return apperr.InvalidField("query", "malformed query string: %s", err.Error())
		}
		changed := false
		for name, vals := range q {
			if p := textProblem(name); p != "" {
				return apperr.InvalidField("query", "parameter names %s", p)
			}
			for i, v := range vals {
				if p := textProblem(v); p != "" {
					return apperr.InvalidField(name, "%s", p)
				}
				if c := canonicalID(v); c != v {
					vals[i], changed = c, true
				}
			}
		}
		if changed {
			r.URL.RawQuery = q.Encode()
		}
	}
	for i, h := range inputHeaders {
		v := r.Header.Get(inputHeaderKeys[i])
		if v == "" {
			continue
		}
		if p := textProblem(v); p != "" {
			return apperr.InvalidField(h, "%s", p)
		}
		if c := canonicalID(v); c != v {
			r.Header.Set(inputHeaderKeys[i], c)
		}
	}
	return nil
}

// canonicalID is v in lower case when v is a UUID, else v itself.
func canonicalID(v string) string {
	if len(v) != 36 || !hasUpper(v) {
		return v
	}
	if low := strings.ToLower(v); store.ValidID(low) {
		return low
	}
	return v
}

func hasUpper(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 'A' && s[i] <= 'Z' {
			return true
		}
	}
	return false
}

// checkJSONContentType refuses a body that does not say it is JSON. A
// charset parameter is allowed, as long as it says UTF-8.
func checkJSONContentType(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	if ct == "application/json" { // what nearly every client sends; parsing it allocates
		return nil
	}
	mt, params, err := mime.ParseMediaType(ct)
	switch {
	case ct == "":
		return apperr.Errorf(apperr.UnsupportedMediaType, "Content-Type must be application/json; none was given")
	case err != nil:
		return apperr.Errorf(apperr.UnsupportedMediaType, "Content-Type must be application/json, not %q", ct)
	case mt != "application/json" && !(strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json")):
		return apperr.Errorf(apperr.UnsupportedMediaType, "Content-Type must be application/json, not %s", mt)
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") && !strings.EqualFold(cs, "utf8") {
		return apperr.Errorf(apperr.UnsupportedMediaType, "JSON bodies are UTF-8; charset %s is not accepted", cs)
	}
	return nil
}

// checkJSONText scans a JSON document's strings, keys included, and refuses
// invalid UTF-8, NUL (raw or escaped as \u0000) and unpaired UTF-16
// surrogate escapes, naming the field that holds them. Structural errors
// are left to the decoder, which reports them better: the scan stops
// without error at the first byte it does not understand.
func checkJSONText(doc []byte) error {
	sc := jsonScanner{doc: doc}
	return sc.value("")
}

type jsonScanner struct {
	doc   []byte
	i     int
	depth int
}

func (sc *jsonScanner) skipSpace() {
	for sc.i < len(sc.doc) {
		switch sc.doc[sc.i] {
		case ' ', '\t', '\n', '\r':
			sc.i++
		default:
			return
		}
	}
}

// maxScanDepth matches encoding/json's nesting limit, beyond which the
// decoder refuses the document anyway.
const maxScanDepth = 10000

func (sc *jsonScanner) value(path string) error {
	sc.skipSpace()
	if sc.i >= len(sc.doc) {
		return nil
	}
	switch c := sc.doc[sc.i]; c {
	case '{':
		sc.depth++
		if sc.depth > maxScanDepth {
			return nil
		}
		sc.i++
		sc.skipSpace()
		if sc.i < len(sc.doc) && sc.doc[sc.i] == '}' {
			sc.i++
			sc.depth--
			return nil
		}
		for {
			sc.skipSpace()
			if sc.i >= len(sc.doc) || sc.doc[sc.i] != '"' {
				return nil
			}
			key, err := sc.str(path)
			if err != nil {
				return err
			}
			field := key
			if path != "" {
				field = path + "." + key
			}
			sc.skipSpace()
			if sc.i >= len(sc.doc) || sc.doc[sc.i] != ':' {
				return nil
			}
			sc.i++
			if err := sc.value(field); err != nil {
				return err
			}
			sc.skipSpace()
			if sc.i >= len(sc.doc) {
				return nil
			}
			switch sc.doc[sc.i] {
			case ',':
				sc.i++
			case '}':
				sc.i++
				sc.depth--
				return nil
			default:
				return nil
			}
		}
	case '[':
		sc.depth++
		if sc.depth > maxScanDepth {
			return nil
		}
		sc.i++
		sc.skipSpace()
		if sc.i < len(sc.doc) && sc.doc[sc.i] == ']' {
			sc.i++
			sc.depth--
			return nil
		}
		for n := 0; ; n++ {
			if err := sc.value(path + "[" + strconv.Itoa(n) + "]"); err != nil {
				return err
			}
			sc.skipSpace()
			if sc.i >= len(sc.doc) {
				return nil
			}
			switch sc.doc[sc.i] {
			case ',':
				sc.i++
			case ']':
				sc.i++
				sc.depth--
				return nil
			default:
				return nil
			}
		}
	case '"':
		_, err := sc.str(path)
		return err
	default:
		// A number, true, false or null: no text in it. Anything else is
		// malformed and left to the decoder.
		for sc.i < len(sc.doc) {
			switch sc.doc[sc.i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return nil
			}
			if sc.doc[sc.i] >= 0x80 {
				// Outside a string, a non-ASCII byte is malformed JSON.
				return nil
			}
			sc.i++
		}
		return nil
	}
}

// str reads the string at sc.i (its opening quote) and returns its raw
// text, refusing what is not text. field names the string's place, for
// the error; a key's problems are reported against its object.
func (sc *jsonScanner) str(field string) (string, error) {
	fail := func(problem string) error {
		name := field
		if name == "" {
			name = "body"
		}
		return apperr.InvalidField(name, "%s", problem)
	}
	start := sc.i + 1
	sc.i++
	for sc.i < len(sc.doc) {
		c := sc.doc[sc.i]
		switch {
		case c == '"':
			raw := string(sc.doc[start:sc.i])
			sc.i++
			return raw, nil
		case c == 0:
			return "", fail("must not contain NUL characters")
		case c == '\\':
			if sc.i+1 >= len(sc.doc) {
				return "", errStopNil(sc)
			}
			if sc.doc[sc.i+1] != 'u' {
				sc.i += 2
				continue
			}
			r, ok := hex4(sc.doc, sc.i+2)
			if !ok {
				return "", errStopNil(sc)
			}
			sc.i += 6
			switch {
			case r == 0:
				return "", fail("must not contain NUL characters")
			case r >= 0xDC00 && r <= 0xDFFF:
				return "", fail("must be valid UTF-8 (a lone UTF-16 surrogate escape is not a character)")
			case r >= 0xD800 && r <= 0xDBFF:
				if sc.i+1 >= len(sc.doc) || sc.doc[sc.i] != '\\' || sc.doc[sc.i+1] != 'u' {
					return "", fail("must be valid UTF-8 (a lone UTF-16 surrogate escape is not a character)")
				}
				low, ok := hex4(sc.doc, sc.i+2)
				if !ok || low < 0xDC00 || low > 0xDFFF {
					return "", fail("must be valid UTF-8 (a lone UTF-16 surrogate escape is not a character)")
				}
				sc.i += 6
			}
		case c < utf8.RuneSelf:
			sc.i++
		default:
			r, size := utf8.DecodeRune(sc.doc[sc.i:])
			if r == utf8.RuneError && size <= 1 {
				return "", fail("must be valid UTF-8")
			}
			sc.i += size
		}
	}
	return "", nil
}

// errStopNil ends the scan at a malformed escape without an error of its
// own: the decoder names the problem.
func errStopNil(sc *jsonScanner) error {
	sc.i = len(sc.doc)
	return nil
}

func hex4(b []byte, at int) (rune, bool) {
	if at < 0 || at+4 > len(b) {
		return 0, false
	}
	v, err := strconv.ParseUint(string(b[at:at+4]), 16, 32)
	return rune(v), err == nil
}

// checkPresence refuses a create body that leaves out a required field or
// gives null to a field that cannot hold it: decoding would silently keep
// the field's default (a menu item at price 0). required are JSON names.
func checkPresence(body []byte, dst any, required []string) error {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return nil // not an object: the decoder has said so already
	}
	for _, name := range required {
		if _, ok := fields[name]; !ok {
			return apperr.InvalidField(name, "is required")
		}
	}
	nullable := nullableFields(reflect.TypeOf(dst))
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
	}
	sort.Strings(names) // the first offending field, the same every time
	for _, name := range names {
		if string(bytes.TrimSpace(fields[name])) != "null" {
			continue
		}
		if ok, known := nullable[name]; known && !ok {
			return apperr.InvalidField(name, "must not be null")
		}
	}
	return nil
}

// nullableFields maps a struct's JSON field names to whether the field can
// hold null (a pointer, slice, map or raw JSON).
func nullableFields(t reflect.Type) map[string]bool {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	out := map[string]bool{}
	if t == nil || t.Kind() != reflect.Struct {
		return out
	}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && tag == "" {
			for k, v := range nullableFields(f.Type) {
				out[k] = v
			}
			continue
		}
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		switch f.Type.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Interface:
			out[name] = true
		default:
			out[name] = false
		}
	}
	return out
}
