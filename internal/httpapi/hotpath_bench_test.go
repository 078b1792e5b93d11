package httpapi_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/shimizu-tech/ordersuite/internal/events"
	"github.com/shimizu-tech/ordersuite/internal/flags"
	"github.com/shimizu-tech/ordersuite/internal/httpapi"
	"github.com/shimizu-tech/ordersuite/internal/metrics"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// BenchmarkHotPath serves the authenticated hot paths in process (no
// network): OFREP single and bulk with an SDK key and GET /api/v1/me with a
// token, auth state from memory, events discarded (the *_buffered runs
// queue them in the server's buffered writer, as serve does; its batches are
// written by its own goroutine and counted in the time, not in allocs/op).
func BenchmarkHotPath(b *testing.B) {
	benchmarkHotPath(b, false)
	benchmarkHotPath(b, true)
}

func benchmarkHotPath(b *testing.B, buffered bool) {
	e := newEnv(b)
	e.newFlag(e.A, "rollout", true, intp(50))
	e.newFlag(e.A, "static_on", true, nil)
	_, key := e.newSDKKey(e.A, "bench")
	tok := e.tokenFor(tenancy.Staff, e.A)
	log := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv := &httpapi.Server{DB: e.db, Auth: e.auth, Events: discardEvents{}, Metrics: metrics.New(), Log: log,
		Flags: flags.New(e.db, flags.Options{Log: log})}
	suffix := ""
	if buffered {
		buf := events.NewBuffer(e.db, srv.Metrics, log, events.BufferOptions{})
		buf.Start()
		b.Cleanup(func() { buf.Close(context.Background()) })
		srv.Events = events.Counting{Next: buf, Metrics: srv.Metrics}
		suffix = "_buffered"
	}
	h := srv.Handler()
	for _, c := range []struct{ name, method, path, cred, body string }{
		{"ofrep_single_sdk_key", "POST", "/ofrep/v1/evaluate/flags/rollout", key, `{"context":{"targetingKey":"user-1"}}`},
		{"ofrep_bulk_sdk_key", "POST", "/ofrep/v1/evaluate/flags", key, `{"context":{"targetingKey":"user-1"}}`},
		{"me_token", "GET", "/api/v1/me", tok, ""},
	} {
		b.Run(c.name+suffix, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest(c.method, c.path, strings.NewReader(c.body))
				req.Header.Set("Authorization", "Bearer "+c.cred)
				if c.body != "" {
					req.Header.Set("Content-Type", "application/json")
				}
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatalf("%d %s", w.Code, w.Body)
				}
			}
		})
	}
}
