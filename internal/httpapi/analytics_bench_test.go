package httpapi_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/shimizu-tech/ordersuite/internal/analytics"
	"github.com/shimizu-tech/ordersuite/internal/events"
	"github.com/shimizu-tech/ordersuite/internal/httpapi"
	"github.com/shimizu-tech/ordersuite/internal/metrics"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// BenchmarkTenantMiddleware measures request throughput with the tenant
// request middleware (event buffered and written in batches, per-tenant
// series) and without it, on the same database in one run: two servers,
// driven in alternating rounds of 200 requests from 4 clients so that noise
// from other work on the machine falls on both alike. It reports each mode's
// req/s and their ratio (on/off).
func BenchmarkTenantMiddleware(b *testing.B) {
	e := newEnv(b)
	tok := e.tokenFor(tenancy.Staff, e.A)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	type server struct {
		url    string
		client *http.Client
		buf    *events.Buffer
		m      *metrics.Metrics
		spent  time.Duration
	}
	var servers [2]*server
	for i, skip := range []bool{true, false} {
		m := metrics.New()
		buf := events.NewBuffer(e.db, m, log, events.BufferOptions{Capacity: 1 << 20, BatchSize: 1000, FlushInterval: 100 * time.Millisecond})
		buf.Start()
		srv := &httpapi.Server{DB: e.db, Auth: e.auth, Events: events.Counting{Next: buf, Metrics: m}, Metrics: m, Log: log,
			Analytics: &analytics.Service{DB: e.db}, SkipTenantRequests: skip}
		ts := httptest.NewServer(srv.Handler())
		defer ts.Close()
		client := ts.Client()
		client.Transport.(*http.Transport).MaxIdleConnsPerHost = 16
		servers[i] = &server{url: ts.URL, client: client, buf: buf, m: m}
	}
	const clients, perRound = 4, 200
	round := func(s *server) {
		start := time.Now()
		var wg sync.WaitGroup
		for c := 0; c < clients; c++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < perRound/clients; i++ {
					req, _ := http.NewRequest("GET", s.url+"/api/v1/me", nil)
					req.Header.Set("Authorization", "Bearer "+tok)
					resp, err := s.client.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}()
		}
		wg.Wait()
		s.spent += time.Since(start)
	}
	round(servers[0]) // warm both
	round(servers[1])
	servers[0].spent, servers[1].spent = 0, 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		round(servers[i%2])
		round(servers[(i+1)%2])
	}
	b.StopTimer()
	for _, s := range servers {
		if err := s.buf.Close(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	off := float64(b.N*perRound) / servers[0].spent.Seconds()
	on := float64(b.N*perRound) / servers[1].spent.Seconds()
	b.ReportMetric(off, "off-req/s")
	b.ReportMetric(on, "on-req/s")
	b.ReportMetric(on/off, "ratio")
	b.ReportMetric(testutil.ToFloat64(servers[1].m.EventsDropped.WithLabelValues("buffer_full")), "dropped")
	b.ReportMetric(testutil.ToFloat64(servers[1].m.EventsWritten), "written")
}
