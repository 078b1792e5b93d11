package events_test

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/shimizu-tech/ordersuite/internal/events"
	"github.com/shimizu-tech/ordersuite/internal/metrics"
	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/storetest"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func newTenant(t *testing.T, db *store.DB) string {
	t.Helper()
	r, err := db.CreateRestaurant(context.Background(), "R "+store.NewID()[30:], "RR")
	if err != nil {
		t.Fatal(err)
	}
	return r.ID
}

func countEvents(t *testing.T, db *store.DB, rid, typ string) int {
	t.Helper()
	// The rows themselves, and the total the listing derives from the
	// rollups: both must agree.
	page, err := db.Events(tenancy.WithTenant(context.Background(), rid), store.EventFilter{Type: typ}, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	list, n := page.Events, page.Total
	if n != len(list) {
		t.Fatalf("listing total %d, but %d rows", n, len(list))
	}
	return len(list)
}

// TestBufferWritesEverythingBelowCapacity: many goroutines recording at once
// lose nothing, and Close flushes what is still queued.
func TestBufferWritesEverythingBelowCapacity(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t)
	m := metrics.New()
	rid := newTenant(t, db)
	b := events.NewBuffer(db, m, quiet, events.BufferOptions{Capacity: 5000, BatchSize: 64, FlushInterval: 50 * time.Millisecond})
	b.Start()
	const workers, each = 16, 200
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				b.Record(context.Background(), rid, events.APIRequest, map[string]any{"duration_ms": 1, "status": 200})
			}
		}()
	}
	wg.Wait()
	if err := b.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := countEvents(t, db, rid, "api_request"); n != workers*each {
		t.Errorf("%d events stored, want %d", n, workers*each)
	}
	if got := testutil.ToFloat64(m.EventsWritten); got != workers*each {
		t.Errorf("tenant_events_written_total = %v", got)
	}
	if got := testutil.ToFloat64(m.EventsDropped.WithLabelValues("buffer_full")); got != 0 {
		t.Errorf("%v dropped below capacity", got)
	}
	// After Close nothing is queued silently: it is counted.
	b.Record(context.Background(), rid, events.APIRequest, map[string]any{})
	if got := testutil.ToFloat64(m.EventsDropped.WithLabelValues("closed")); got != 1 {
		t.Errorf("record after close: dropped{closed} = %v, want 1", got)
	}
}

// TestBufferCountsDropsWhenFull blocks the writer on a table lock, overfills
// the buffer, and checks stored + dropped == recorded.
func TestBufferCountsDropsWhenFull(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t)
	m := metrics.New()
	rid := newTenant(t, db)
	ctx := context.Background()
	unlock := lockEvents(t, db)
	const capacity, batch, recorded = 50, 10, 400
	b := events.NewBuffer(db, m, quiet, events.BufferOptions{Capacity: capacity, BatchSize: batch, FlushInterval: time.Millisecond})
	b.Start()
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < recorded/8; i++ {
				b.Record(ctx, rid, events.UserLogin, map[string]any{"user_id": "u"})
			}
		}()
	}
	wg.Wait()
	unlock()
	if err := b.Close(ctx); err != nil {
		t.Fatal(err)
	}
	stored := countEvents(t, db, rid, "user_login")
	dropped := int(testutil.ToFloat64(m.EventsDropped.WithLabelValues("buffer_full")))
	if stored+dropped != recorded {
		t.Errorf("stored %d + dropped %d != recorded %d", stored, dropped, recorded)
	}
	t.Logf("recorded %d: stored %d, dropped %d", recorded, stored, dropped)
	// The writer holds at most one batch while blocked, the queue the rest.
	if stored > capacity+batch || dropped < recorded-capacity-batch {
		t.Errorf("stored %d, dropped %d: more than capacity %d + batch %d kept", stored, dropped, capacity, batch)
	}
}

// lockEvents makes writes to tenant_events wait until unlock is called.
func lockEvents(t *testing.T, db *store.DB) (unlock func()) {
	t.Helper()
	ctx := context.Background()
	tx, err := db.SQL().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	stmt := `INSERT INTO tenant_events (restaurant_id, id, event_type, event_data, created_at) SELECT id, $1, 'error', '{}', created_at FROM restaurants WHERE 1 = 0`
	if db.Engine == store.Postgres {
		stmt = `LOCK TABLE tenant_events IN EXCLUSIVE MODE`
		_, err = tx.ExecContext(ctx, stmt)
	} else {
		// An immediate transaction holds SQLite's write lock already.
		_, err = tx.ExecContext(ctx, stmt, store.NewID())
	}
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	unlock = func() { once.Do(func() { _ = tx.Rollback() }) }
	t.Cleanup(unlock)
	return unlock
}

func TestCountingSink(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t)
	m := metrics.New()
	rid := newTenant(t, db)
	sink := events.Counting{Next: events.StoreSink{DB: db, Log: quiet}, Metrics: m}
	ctx := context.Background()
	sink.Record(ctx, rid, events.OrderCreated, map[string]any{"order_id": "o1", "total_amount_cents": 1500})
	sink.Record(ctx, rid, events.OrderCreated, map[string]any{"order_id": "o2", "total_amount_cents": 500})
	sink.Record(ctx, rid, events.PaymentProcessed, map[string]any{"amount_cents": 1500, "payment_method": "card"})
	sink.Record(ctx, rid, events.PaymentProcessed, struct {
		Amount int64  `json:"amount_cents"`
		Method string `json:"method"`
	}{250, "cash"})
	sink.Record(ctx, rid, events.PaymentProcessed, map[string]any{"amount_cents": 100, "payment_method": "card"})
	sink.Record(ctx, rid, events.Error, map[string]any{"error_type": "payment_declined"})
	if got := testutil.ToFloat64(m.TenantOrders.WithLabelValues(rid)); got != 2 {
		t.Errorf("tenant_orders_total = %v, want 2", got)
	}
	if got := testutil.ToFloat64(m.TenantPaymentCents.WithLabelValues(rid, "card")); got != 1600 {
		t.Errorf("card payments = %v, want 1600", got)
	}
	if got := testutil.ToFloat64(m.TenantPaymentCents.WithLabelValues(rid, "cash")); got != 250 {
		t.Errorf("cash payments = %v, want 250", got)
	}
	if got := testutil.ToFloat64(m.TenantErrors.WithLabelValues(rid, "payment_declined")); got != 1 {
		t.Errorf("errors = %v, want 1", got)
	}
	if n := countEvents(t, db, rid, ""); n != 6 {
		t.Errorf("%d events passed on, want 6", n)
	}
}

// TestBufferDepthCountsTheBatchInFlight: while the writer is blocked on a
// batch, the depth gauge counts that batch too (queued + in flight), and it
// returns to 0 once everything is written.
func TestBufferDepthCountsTheBatchInFlight(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t)
	m := metrics.New()
	rid := newTenant(t, db)
	ctx := context.Background()
	unlock := lockEvents(t, db)
	b := events.NewBuffer(db, m, quiet, events.BufferOptions{Capacity: 100, BatchSize: 10, FlushInterval: time.Millisecond})
	b.Start()
	for i := 0; i < 35; i++ {
		b.Record(ctx, rid, events.UserLogin, map[string]any{"user_id": "u"})
	}
	// The writer takes one batch of 10 and blocks on it; 25 stay queued.
	deadline := time.Now().Add(5 * time.Second)
	for b.Depth() != 35 || testutil.ToFloat64(m.EventBufferDepth) != 35 {
		if time.Now().After(deadline) {
			t.Fatalf("depth %d, gauge %v, want 35 (queued + in flight)", b.Depth(), testutil.ToFloat64(m.EventBufferDepth))
		}
		time.Sleep(5 * time.Millisecond)
	}
	unlock()
	if err := b.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if b.Depth() != 0 || testutil.ToFloat64(m.EventBufferDepth) != 0 {
		t.Errorf("after the flush: depth %d, gauge %v", b.Depth(), testutil.ToFloat64(m.EventBufferDepth))
	}
}

func TestBufferOptionsRefuseABatchLargerThanTheBuffer(t *testing.T) {
	t.Parallel()
	if err := (events.BufferOptions{Capacity: 100, BatchSize: 101}).Check(); err == nil {
		t.Error("batch 101 > buffer 100 accepted")
	}
	if err := (events.BufferOptions{Capacity: 100, BatchSize: 100}).Check(); err != nil {
		t.Errorf("batch = buffer refused: %v", err)
	}
	if err := (events.BufferOptions{Capacity: 100}).Check(); err == nil {
		t.Error("the default batch (500) accepted with a buffer of 100")
	}
}

// TestBufferDepthZeroMeansWritten: whenever tenant_event_buffer_depth
// reads 0, every event recorded before the read is stored, however the
// read falls between the recorders and the writer taking and writing its
// batches.
func TestBufferDepthZeroMeansWritten(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t)
	m := metrics.New()
	rid := newTenant(t, db)
	ctx := context.Background()
	b := events.NewBuffer(db, m, quiet, events.BufferOptions{Capacity: 1000, BatchSize: 8, FlushInterval: 5 * time.Millisecond})
	b.Start()
	defer b.Close(ctx)
	stored := func() int {
		var n int
		if err := db.SQL().QueryRowContext(ctx, `SELECT count(*) FROM tenant_events WHERE restaurant_id = $1`, rid).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	recorded := 0
	for round := range 200 {
		// Bursts of one to four recorders; a lone event is the one the
		// writer takes from the queue the moment it is queued.
		var wg sync.WaitGroup
		for range 1 + round%4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				b.Record(ctx, rid, events.UserLogin, map[string]any{"user_id": "u"})
			}()
		}
		wg.Wait()
		recorded += 1 + round%4
		deadline := time.Now().Add(10 * time.Second)
		for testutil.ToFloat64(m.EventBufferDepth) != 0 {
			if time.Now().After(deadline) {
				t.Fatalf("round %d: the depth gauge still reads %v", round, testutil.ToFloat64(m.EventBufferDepth))
			}
			time.Sleep(50 * time.Microsecond)
		}
		if n := stored(); n != recorded {
			t.Fatalf("round %d: the depth gauge read 0 with %d of %d recorded events stored", round, n, recorded)
		}
	}
}
