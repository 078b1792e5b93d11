package events

import (
	"strconv"

	"github.com/shimizu-tech/ordersuite/internal/jsonenc"
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
	b = jsonenc.AppendString(b, d.Path)
	b = append(b, `,"route":`...)
	b = jsonenc.AppendString(b, d.Route)
	b = append(b, `,"method":`...)
	b = jsonenc.AppendString(b, d.Method)
	b = append(b, `,"duration_ms":`...)
	b = strconv.AppendInt(b, d.DurationMS, 10)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(d.Status), 10)
	if d.UserID != "" {
		b = append(b, `,"user_id":`...)
		b = jsonenc.AppendString(b, d.UserID)
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
