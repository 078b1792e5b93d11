package store

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// BenchmarkEventWriterRollups measures what keeping the rollups costs the
// event writer: batches of 500 events of 1 or 20 tenants (requests on 8 routes
// with every status class, logins, orders) written with their rollups, as
// InsertEvents does, and the same batches without them. The two alternate
// batch by batch in one run, so the machine's load weighs on both alike;
// ratio is the throughput with rollups over the throughput without.
func BenchmarkEventWriterRollups(b *testing.B) {
	for _, n := range []int{1, 20} {
		b.Run(fmt.Sprintf("tenants-%d", n), func(b *testing.B) { benchWriterRollups(b, n) })
	}
}

func benchWriterRollups(b *testing.B, tenantCount int) {
	db := openEngine(b)
	ctx := context.Background()
	now := db.Now()
	var tenants []string
	for i := 0; i < tenantCount; i++ {
		id := NewID()
		if _, err := db.sql.ExecContext(ctx, `INSERT INTO restaurants (id, name, prefix, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)`,
			id, fmt.Sprint("R", i), fmt.Sprintf("R%02d", i), now); err != nil {
			b.Fatal(err)
		}
		tenants = append(tenants, id)
	}
	statuses := []int{200, 200, 200, 201, 304, 404, 500}
	batch := func(k int) []TenantEvent {
		evs := make([]TenantEvent, 500)
		for i := range evs {
			j := k*500 + i
			typ, data := "api_request", map[string]any{"path": "/api/v1/x", "route": fmt.Sprint("/api/v1/r", j%8), "method": "GET",
				"duration_ms": j % 700, "status": statuses[j%len(statuses)], "user_id": "u"}
			switch j % 20 {
			case 0:
				typ, data = "user_login", map[string]any{"user_id": fmt.Sprint("u", j%50)}
			case 1:
				typ, data = "order_created", map[string]any{"order_id": "o", "total_amount_cents": 1200}
			}
			raw, _ := json.Marshal(data)
			evs[i] = TenantEvent{RestaurantID: tenants[j%len(tenants)], ID: NewID(), Type: typ, Data: raw, CreatedAt: now.Add(time.Duration(j) * time.Millisecond)}
		}
		return evs
	}
	var with, without time.Duration
	// Which of a pair goes first is drawn at random (seeded, so runs
	// repeat). A fixed pattern locks onto SQLite's WAL checkpoints: a
	// checkpoint runs in the commit that takes the log past 1000 pages,
	// every fourth batch of 20 tenants (about 320 pages each), and an
	// alternation of period four then hands every checkpoint to the same
	// side, which measured 0.46 or 0.9 depending on where it started.
	order := rand.New(rand.NewPCG(1, 2))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		first := order.IntN(2)
		for k := 0; k < 2; k++ {
			evs := batch(2*i + k)
			start := time.Now()
			if k == first {
				if err := db.dialect.insertEvents(ctx, db, evs, newRollupBatch()); err != nil {
					b.Fatal(err)
				}
				without += time.Since(start)
				continue
			}
			if err := db.InsertEvents(ctx, evs); err != nil {
				b.Fatal(err)
			}
			with += time.Since(start)
		}
	}
	rowsWith, rowsWithout := float64(b.N*500)/with.Seconds(), float64(b.N*500)/without.Seconds()
	b.ReportMetric(rowsWith, "rows/s-with-rollups")
	b.ReportMetric(rowsWithout, "rows/s-events-only")
	b.ReportMetric(rowsWith/rowsWithout, "ratio")
}
