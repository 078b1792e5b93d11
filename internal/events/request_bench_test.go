package events

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"testing"

	"github.com/shimizu-tech/ordersuite/internal/metrics"
	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/storetest"
)

// BenchmarkRequestEvent: what one request's api_request event costs the
// request (encoding) and the writer (reading its figures for the rollups):
// RequestData against the reflected struct and parse as before.
func BenchmarkRequestEvent(b *testing.B) {
	d := RequestData{Path: "/ofrep/v1/evaluate/flags/checkout_rollout", Route: "/ofrep/v1/evaluate/flags/{key}",
		Method: "POST", DurationMS: 1, Status: 200, UserID: "0190a3c4-5b6d-7e8f-9a0b-1c2d3e4f5a6b"}
	type reflected RequestData // no MarshalJSON: what encoding/json does
	b.Run("append_and_figures", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = d.AppendJSON(make([]byte, 0, 192))
			_ = d.figures()
		}
	})
	b.Run("marshal_and_parse", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			p, _ := json.Marshal(reflected(d))
			var f store.RequestFigures
			_ = json.Unmarshal(p, &f)
		}
	})
}

// BenchmarkBufferRecord: Record on the buffered sink as a request calls it
// (the writer drains the queue meanwhile), for a request's own event and
// for a map payload.
func BenchmarkBufferRecord(b *testing.B) {
	db := storetest.Open(b)
	r, err := db.CreateRestaurant(context.Background(), "Bench", "BR")
	if err != nil {
		b.Fatal(err)
	}
	buf := NewBuffer(db, metrics.New(), slog.New(slog.NewTextHandler(io.Discard, nil)), BufferOptions{})
	buf.Start()
	b.Cleanup(func() { buf.Close(context.Background()) })
	d := RequestData{Path: "/api/v1/me", Route: "/api/v1/me", Method: "GET", DurationMS: 1, Status: 200, UserID: "u"}
	b.Run("request_data", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			buf.Record(context.Background(), r.ID, APIRequest, d)
		}
	})
	b.Run("map", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			buf.Record(context.Background(), r.ID, APIRequest, map[string]any{"path": d.Path, "route": d.Route, "method": d.Method,
				"duration_ms": d.DurationMS, "status": d.Status, "user_id": d.UserID})
		}
	})
}
