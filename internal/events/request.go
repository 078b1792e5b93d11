package events

import (
	"strconv"
	"unicode/utf8"

	"github.com/shimizu-tech/ordersuite/internal/store"
)

// RequestData is the api_request event's payload. It is recorded once per
// API request, so it encodes itself (the same bytes encoding/json writes,
// without reflection) and hands the rollups its figures, so that the
// writer does not parse them back out of the JSON.
type RequestData struct {
	Path       string `json:"path"`
	Route      string `json:"route"`
	Method     string `json:"method"`
	DurationMS int64  `json:"duration_ms"`
	Status     int    `json:"status"`
	UserID     string `json:"user_id,omitempty"`
}

// AppendJSON appends the payload as json.Marshal writes it.
func (d RequestData) AppendJSON(b []byte) []byte {
	b = append(b, `{"path":`...)
	b = appendJSONString(b, d.Path)
	b = append(b, `,"route":`...)
	b = appendJSONString(b, d.Route)
	b = append(b, `,"method":`...)
	b = appendJSONString(b, d.Method)
	b = append(b, `,"duration_ms":`...)
	b = strconv.AppendInt(b, d.DurationMS, 10)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(d.Status), 10)
	if d.UserID != "" {
		b = append(b, `,"user_id":`...)
		b = appendJSONString(b, d.UserID)
	}
	return append(b, '}')
}

// MarshalJSON is AppendJSON for encoding/json.
func (d RequestData) MarshalJSON() ([]byte, error) { return d.AppendJSON(make([]byte, 0, 192)), nil }

// figures are what the rollups read from the payload; nil unless every
// string is printable ASCII (so it reads back from the stored JSON as
// itself, whatever the store does to other text), and the writer then
// parses the JSON as for any other event.
func (d RequestData) figures() *store.RequestFigures {
	if !printable(d.Route) || !printable(d.Method) || !printable(d.UserID) {
		return nil
	}
	return &store.RequestFigures{DurationMS: float64(d.DurationMS), Status: float64(d.Status),
		UserID: d.UserID, Route: d.Route, Method: d.Method}
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

const hexDigits = "0123456789abcdef"

// appendJSONString is encoding/json's string encoding with its default
// HTML escaping: <, > and & as \u003c, \u003e and \u0026, U+2028 and U+2029
// escaped, invalid UTF-8 replaced by U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
