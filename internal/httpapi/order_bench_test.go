package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/events"
	"github.com/shimizu-tech/ordersuite/internal/httpapi"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// BenchmarkOrderCreation drives POST /api/v1/orders over loopback against a
// real server and database (SQLite, or PostgreSQL with TEST_DATABASE_URL),
// from 4 and from 32 concurrent clients, and reports
// orders/s and the p50/p99 latency of one order.
//
//	go test ./internal/httpapi -run '^$' -bench OrderCreation -benchtime 2000x
func BenchmarkOrderCreation(b *testing.B) {
	for _, clients := range []int{4, 32} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) { benchmarkOrders(b, clients) })
	}
}

func benchmarkOrders(b *testing.B, clients int) {
	e := newEnv(b)
	// Events as serve wires them: counted, then buffered and written in
	// batches off the request path.
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	buffer := events.NewBuffer(e.db, e.metrics, log, events.BufferOptions{})
	buffer.Start()
	defer buffer.Close(context.Background()) //nolint:errcheck // the run is over
	e.useServer(func(s *httpapi.Server) { s.Events = events.Counting{Next: buffer, Metrics: e.metrics} })
	items := []string{e.menuItem(e.A, 1450).ID, e.menuItem(e.A, 750).ID, e.menuItem(e.A, 300).ID}
	body, _ := json.Marshal(map[string]any{"order_type": "takeout", "items": []any{
		map[string]any{"menu_item_id": items[0], "quantity": 2},
		map[string]any{"menu_item_id": items[1], "quantity": 1},
		map[string]any{"menu_item_id": items[2], "quantity": 3},
	}})
	tok := e.tokenFor(tenancy.Staff, e.A)
	url := e.srv.URL + "/api/v1/orders"
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	var mu sync.Mutex
	var lat []time.Duration
	b.SetParallelism(max(1, clients/runtime.GOMAXPROCS(0)))
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		for pb.Next() {
			req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+tok)
			req.Header.Set("Content-Type", "application/json")
			t0 := time.Now()
			res, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			var out struct{}
			_ = json.NewDecoder(res.Body).Decode(&out)
			res.Body.Close()
			if res.StatusCode != http.StatusCreated {
				b.Errorf("status %d", res.StatusCode)
				return
			}
			mine = append(mine, time.Since(t0))
		}
		mu.Lock()
		lat = append(lat, mine...)
		mu.Unlock()
	})
	elapsed := time.Since(start)
	b.StopTimer()
	if len(lat) == 0 {
		return
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "orders/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}
