package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/storetest"
)

// BenchmarkEventIngestion compares writing tenant events in batches
// (InsertEvents: multi-row INSERT on SQLite, COPY on PostgreSQL, rollups
// included) with one INSERT statement per event, as the seed's middleware
// did (TenantEvent.create! on every request).
func BenchmarkEventIngestion(b *testing.B) {
	db := storetest.Open(b)
	ctx := context.Background()
	r, err := db.CreateRestaurant(ctx, "Bench", "BE")
	if err != nil {
		b.Fatal(err)
	}
	data, _ := json.Marshal(map[string]any{"path": "/api/v1/orders/0190", "method": "GET", "duration_ms": 12, "status": 200, "user_id": store.NewID()})
	mk := func(n int) []store.TenantEvent {
		evs := make([]store.TenantEvent, n)
		now := time.Now().UTC()
		for i := range evs {
			evs[i] = store.TenantEvent{RestaurantID: r.ID, ID: store.NewID(), Type: "api_request", Data: data, CreatedAt: now}
		}
		return evs
	}
	for _, batch := range []int{100, 500, 2000} {
		b.Run(fmt.Sprintf("batched-%d", batch), func(b *testing.B) {
			const rowsPerOp = 10000
			for i := 0; i < b.N; i++ {
				evs := mk(rowsPerOp)
				for start := 0; start < len(evs); start += batch {
					if err := db.InsertEvents(ctx, evs[start:start+batch]); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.N*rowsPerOp)/b.Elapsed().Seconds(), "rows/s")
		})
	}
	b.Run("one-insert-per-event", func(b *testing.B) {
		const rowsPerOp = 1000
		for i := 0; i < b.N; i++ {
			for _, e := range mk(rowsPerOp) {
				if _, err := db.SQL().ExecContext(ctx, `INSERT INTO tenant_events (restaurant_id, id, event_type, event_data, created_at) VALUES ($1, $2, $3, $4, $5)`,
					e.RestaurantID, e.ID, e.Type, string(e.Data), e.CreatedAt); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(b.N*rowsPerOp)/b.Elapsed().Seconds(), "rows/s")
	})
}
