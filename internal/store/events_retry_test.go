package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/storetest"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// TestEventBatchWrittenAgainIsStoredOnce: when a batch's commit answer is
// lost with the connection, the event writer cannot know the batch was
// stored and writes it again. That retry is not an error (which would
// count the events as lost), and stores and counts nothing twice.
func TestEventBatchWrittenAgainIsStoredOnce(t *testing.T) {
	t.Parallel()
	db := storetest.OpenWithClock(t, func() time.Time { return at("2026-11-20 12:30:00") })
	ctx := context.Background()
	a, err := db.CreateRestaurant(ctx, "A", "AA")
	if err != nil {
		t.Fatal(err)
	}
	b, err := db.CreateRestaurant(ctx, "B", "BB")
	if err != nil {
		t.Fatal(err)
	}
	batch := []store.TenantEvent{
		req(a.ID, "2026-11-20 10:15:00", 100, 200),
		event(a.ID, "order_created", "2026-11-20 10:16:00", map[string]any{"order_id": "o1", "total_cents": 1200}),
		req(b.ID, "2026-11-20 10:17:00", 300, 500),
	}
	if err := db.InsertEvents(ctx, batch); err != nil {
		t.Fatal(err)
	}
	// The writer keeps the ids it gave, so a retry carries the same ones.
	if err := db.InsertEvents(ctx, batch); err != nil {
		t.Fatalf("the same batch written again: %v", err)
	}
	var n int
	if err := db.SQL().QueryRowContext(ctx, `SELECT count(*) FROM tenant_events`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != len(batch) {
		t.Errorf("%d events stored, want %d", n, len(batch))
	}
	for _, rid := range []string{a.ID, b.ID} {
		s, err := db.EventStats(tenancy.WithTenant(ctx, rid), at("2026-11-20 00:00:00"), at("2026-11-21 00:00:00"))
		if err != nil {
			t.Fatal(err)
		}
		if s.Counts["api_request"] != 1 {
			t.Errorf("restaurant %s: rollups count %d requests, want 1", rid, s.Counts["api_request"])
		}
	}

	// A batch that shares one id with a stored event but is not that batch
	// is still refused: only a whole stored batch counts as written.
	other := []store.TenantEvent{batch[0], req(a.ID, "2026-11-20 11:00:00", 50, 200)}
	other[1].ID = ""
	if err := db.InsertEvents(ctx, other); err == nil {
		t.Error("a batch with one stored event and one new was taken as stored")
	}
}
