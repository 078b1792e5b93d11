package events_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/shimizu-tech/ordersuite/internal/events"
	"github.com/shimizu-tech/ordersuite/internal/metrics"
	"github.com/shimizu-tech/ordersuite/internal/storetest"
)

// TestBufferHoldsEventsThroughAnOutage cuts the database under the
// buffer: the batch that fails is retried, not dropped; events keep
// queueing up to capacity; beyond it they are counted as buffer_full; and
// everything held is written once the database is back.
func TestBufferHoldsEventsThroughAnOutage(t *testing.T) {
	t.Parallel()
	direct, db, proxy := storetest.OpenBehindProxy(t)
	m := metrics.New()
	rid := newTenant(t, direct)
	const capacity, batch = 100, 10
	b := events.NewBuffer(db, m, quiet, events.BufferOptions{Capacity: capacity, BatchSize: batch, FlushInterval: 20 * time.Millisecond})
	b.Start()
	record := func(n int) {
		for i := 0; i < n; i++ {
			b.Record(context.Background(), rid, events.APIRequest, map[string]any{"status": 200})
		}
	}
	record(5)
	waitFor(t, func() bool { return testutil.ToFloat64(m.EventsWritten) == 5 })

	proxy.Cut()
	const during = 150 // more than the queue and the batch in hand can hold
	for i := 0; i < during; i++ {
		record(1)
		time.Sleep(2 * time.Millisecond)
	}
	time.Sleep(1500 * time.Millisecond) // several failed attempts
	if err := proxy.Restore(); err != nil {
		t.Fatal(err)
	}
	fctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.Close(fctx); err != nil {
		t.Fatal(err)
	}

	full := testutil.ToFloat64(m.EventsDropped.WithLabelValues("buffer_full"))
	failed := testutil.ToFloat64(m.EventsDropped.WithLabelValues("write_failed"))
	stored := countEvents(t, direct, rid, "api_request")
	if failed != 0 {
		t.Errorf("%v events dropped as write_failed: a batch that met the outage was not retried", failed)
	}
	if stored+int(full) != 5+during {
		t.Errorf("stored %d + dropped %v != recorded %d", stored, full, 5+during)
	}
	if stored < 5+capacity {
		t.Errorf("only %d events stored: the queue of %d did not hold through the outage", stored, capacity)
	}
	if full == 0 {
		t.Error("no event counted as buffer_full though more were recorded than the queue holds")
	}
	if got := testutil.ToFloat64(m.DBUnavailable.WithLabelValues("events")); got == 0 {
		t.Error("the refused writes are not counted in db_unavailable_total")
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
