package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/storetest"
)

// TestFullEventBatches: batches of whole chunks (a statement the
// connection keeps prepared on SQLite) and a partial one write every
// event, in one or several transactions, and the rollups count them all.
func TestFullEventBatches(t *testing.T) {
	db := storetest.Open(t)
	ctx := context.Background()
	r, err := db.CreateRestaurant(ctx, "Batch", "BA")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	mk := func(n int) []store.TenantEvent {
		evs := make([]store.TenantEvent, n)
		for i := range evs {
			evs[i] = store.TenantEvent{RestaurantID: r.ID, Type: "api_request", CreatedAt: now,
				Data: []byte(`{"path":"/x","route":"/x","method":"GET","duration_ms":3,"status":200}`)}
		}
		return evs
	}
	for _, n := range []int{500, 1000, 1234, 500} {
		if err := db.InsertEvents(ctx, mk(n)); err != nil {
			t.Fatalf("%d events: %v", n, err)
		}
	}
	var count int
	if err := db.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM tenant_events WHERE restaurant_id = $1`, r.ID).Scan(&count); err != nil {
		t.Fatal(err)
	}
	var rolled int64
	if err := db.SQL().QueryRowContext(ctx, `SELECT COALESCE(SUM(event_count), 0) FROM tenant_event_rollups WHERE restaurant_id = $1`, r.ID).Scan(&rolled); err != nil {
		t.Fatal(err)
	}
	if count != 3234 || rolled != 3234 {
		t.Fatalf("%d events and %d in the rollups, want 3234", count, rolled)
	}
}
