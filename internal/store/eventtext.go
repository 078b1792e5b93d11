package store

import (
	"bytes"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// EscapeText makes s storable as text on both engines while keeping what
// it carried readable: a NUL becomes the four characters \x00 and each
// byte that is not UTF-8 becomes \xNN. Text that is already valid passes
// unchanged. Events use it for what a request carried (a hostile path),
// which must be recorded, not refused.
func EscapeText(s string) string {
	if utf8.ValidString(s) && !containsNUL(s) {
		return s
	}
	var b bytes.Buffer
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == 0:
			b.WriteString(`\x00`)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

func containsNUL(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return true
		}
	}
	return false
}

// storableJSON rewrites a JSON document so PostgreSQL's jsonb takes it:
// jsonb refuses the escape \u0000 (SQLSTATE 22P05) and unpaired surrogate
// escapes, which encoding/json and SQLite accept. Each becomes visible
// text instead (\u0000 reads as \x00, a lone \ud800 as the six characters
// \ud800), and bytes that are not UTF-8 become \xNN, so one event cannot
// fail the batch it is written in. A document without such escapes is
// returned as it is.
func storableJSON(doc []byte) []byte {
	if utf8.Valid(doc) && !bytes.Contains(doc, []byte(`\u`)) {
		return doc
	}
	var out bytes.Buffer
	changed := false
	inString := false
	for i := 0; i < len(doc); {
		c := doc[i]
		switch {
		case c == '"':
			inString = !inString
			out.WriteByte(c)
			i++
		case inString && c == '\\' && i+1 < len(doc) && doc[i+1] == 'u':
			r, ok := hexRune(doc, i+2)
			if !ok {
				out.Write(doc[i:min(i+2, len(doc))])
				i += 2
				continue
			}
			switch {
			case r == 0:
				out.WriteString(`\\x00`)
				changed = true
				i += 6
			case r >= 0xD800 && r <= 0xDBFF:
				low, ok := hexRune(doc, i+8)
				if i+7 < len(doc) && doc[i+6] == '\\' && doc[i+7] == 'u' && ok && low >= 0xDC00 && low <= 0xDFFF {
					out.Write(doc[i : i+12])
					i += 12
					continue
				}
				out.WriteString(`\\`)
				out.Write(doc[i+1 : i+6])
				changed = true
				i += 6
			case r >= 0xDC00 && r <= 0xDFFF:
				out.WriteString(`\\`)
				out.Write(doc[i+1 : i+6])
				changed = true
				i += 6
			default:
				out.Write(doc[i : i+6])
				i += 6
			}
		case inString && c == '\\' && i+1 < len(doc):
			out.Write(doc[i : i+2])
			i += 2
		case c < utf8.RuneSelf:
			out.WriteByte(c)
			i++
		default:
			r, size := utf8.DecodeRune(doc[i:])
			if r == utf8.RuneError && size <= 1 {
				if inString {
					fmt.Fprintf(&out, `\\x%02x`, c)
				} else {
					out.WriteString(`"\\x` + fmt.Sprintf("%02x", c) + `"`)
				}
				changed = true
				i++
				continue
			}
			out.Write(doc[i : i+size])
			i += size
		}
	}
	if !changed {
		return doc
	}
	return out.Bytes()
}

func hexRune(b []byte, at int) (rune, bool) {
	if at < 0 || at+4 > len(b) {
		return 0, false
	}
	v, err := strconv.ParseUint(string(b[at:at+4]), 16, 32)
	return rune(v), err == nil
}
