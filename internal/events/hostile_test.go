package events_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/shimizu-tech/ordersuite/internal/events"
	"github.com/shimizu-tech/ordersuite/internal/metrics"
	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/storetest"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// TestHostileTextKeepsTheBatch: events carrying a NUL, bytes that are not
// UTF-8 and a lone surrogate are written in the same batch as ordinary
// ones, by the real writer, in one INSERT (PostgreSQL's jsonb refuses
// \u0000; before, the batch failed and fell back to one row at a time,
// losing the hostile event). Each is stored with what it carried escaped.
func TestHostileTextKeepsTheBatch(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t)
	m := metrics.New()
	rid := newTenant(t, db)
	b := events.NewBuffer(db, m, quiet, events.BufferOptions{Capacity: 100, BatchSize: 100, FlushInterval: time.Hour})
	b.Start()
	paths := []string{
		"/api/v1/customers/ok",
		"/api/v1/customers/a\x00b",
		// The request middleware escapes what encoding/json would replace.
		store.EscapeText("/api/v1/customers/\xff\xfe"),
		"/api/v1/orders?status=N\x00UL",
	}
	for _, p := range paths {
		b.Record(context.Background(), rid, events.APIRequest, map[string]any{"path": p, "status": 400, "duration_ms": 1})
	}
	// A payload built elsewhere, already JSON, with the escapes jsonb refuses.
	b.Record(context.Background(), rid, events.SecurityAlert, json.RawMessage(`{"alert":"x\u0000y","lone":"\ud800z"}`))
	if err := b.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(m.EventsWritten); got != float64(len(paths)+1) {
		t.Errorf("events written = %v, want %d", got, len(paths)+1)
	}
	if got := testutil.ToFloat64(m.EventsDropped.WithLabelValues("write_failed")); got != 0 {
		t.Errorf("%v events lost", got)
	}
	if n := histogramCount(t, m.EventBatchDuration); n != 1 {
		t.Errorf("%d batches written whole, want 1: the batch failed and fell back to one insert per event", n)
	}
	page, err := db.Events(tenancy.WithTenant(context.Background(), rid), store.EventFilter{}, 100)
	if err != nil {
		t.Fatal(err)
	}
	list := page.Events
	var stored []string
	for _, e := range list {
		stored = append(stored, string(e.Data))
	}
	all := strings.Join(stored, "\n")
	for _, want := range []string{`a\\x00b`, `\\xff\\xfe`, `N\\x00UL`, `x\\x00y`, `\\ud800z`} {
		if !strings.Contains(all, want) {
			t.Errorf("no stored event holds %s:\n%s", want, all)
		}
	}
}

func histogramCount(t *testing.T, h prometheus.Histogram) uint64 {
	t.Helper()
	var out dto.Metric
	if err := h.Write(&out); err != nil {
		t.Fatal(err)
	}
	return out.GetHistogram().GetSampleCount()
}
