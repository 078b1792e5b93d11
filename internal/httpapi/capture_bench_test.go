package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/events"
	"github.com/shimizu-tech/ordersuite/internal/httpapi"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// BenchmarkOrderCreationCapture measures what the change log costs order
// creation: POST /api/v1/orders over loopback from 4 clients against a real
// server and database, in rounds with capture off and on alternately (the
// same server, database and run, so the machine's load falls on both
// alike). It reports orders/s of each and their ratio (target ≥ 0.85).
//
//	go test ./internal/httpapi -run '^$' -bench OrderCreationCapture -benchtime 3000x
func BenchmarkOrderCreationCapture(b *testing.B) {
	const clients, rounds = 4, 6
	e := newEnv(b)
	ctx := context.Background()
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
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	post := func(n int) time.Duration {
		var left atomic.Int64
		left.Store(int64(n))
		var wg sync.WaitGroup
		start := time.Now()
		for c := 0; c < clients; c++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for left.Add(-1) >= 0 {
					req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
					req.Header.Set("Authorization", "Bearer "+tok)
					req.Header.Set("Content-Type", "application/json")
					res, err := client.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					answer, _ := io.ReadAll(res.Body)
					res.Body.Close()
					if res.StatusCode != http.StatusCreated {
						b.Errorf("status %d: %s", res.StatusCode, answer)
						return
					}
				}
			}()
		}
		wg.Wait()
		return time.Since(start)
	}
	per := max(b.N/rounds, 50)
	post(per / 2) // warm up
	var took [2]time.Duration
	b.ResetTimer()
	for r := 0; r < rounds; r++ {
		on := r%2 == 1
		b.StopTimer()
		if err := e.db.SetCapture(ctx, on); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		i := 0
		if on {
			i = 1
		}
		took[i] += post(per)
	}
	b.StopTimer()
	if err := e.db.SetCapture(ctx, true); err != nil {
		b.Fatal(err)
	}
	var logged int
	if err := e.db.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM tenant_changes WHERE restaurant_id = $1`, e.A.R.ID).Scan(&logged); err != nil || logged < per {
		b.Fatalf("%d changes logged (%v): capture was not on", logged, err)
	}
	n := float64(per * rounds / 2)
	off, on := n/took[0].Seconds(), n/took[1].Seconds()
	b.ReportMetric(off, "orders/s-off")
	b.ReportMetric(on, "orders/s-on")
	b.ReportMetric(on/off, "on/off")
}
