package availability_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/shimizu-tech/ordersuite/internal/availability"
	"github.com/shimizu-tech/ordersuite/internal/metrics"
	"github.com/shimizu-tech/ordersuite/internal/storetest"
)

func TestMonitorReadyOnAHealthyDatabase(t *testing.T) {
	db := storetest.Open(t)
	m := metrics.New()
	mon := availability.NewMonitor(db, availability.Options{Metrics: m})
	mon.Start(context.Background())
	defer mon.Close()
	if st := mon.State(); !st.Ready() {
		t.Fatalf("a migrated, reachable database is not ready: %+v", st)
	}
	if up := testutil.ToFloat64(m.DatabaseUp); up != 1 {
		t.Errorf("db_up = %v", up)
	}
}

// TestMonitorSeesAStallAndACut: a database that hangs (no answer, no
// error) and one that refuses connections are both seen as down within a
// second, and as up within a second of their return.
func TestMonitorSeesAStallAndACut(t *testing.T) {
	_, db, proxy := storetest.OpenBehindProxy(t)
	m := metrics.New()
	mon := availability.NewMonitor(db, availability.Options{Metrics: m})
	mon.Start(context.Background())
	defer mon.Close()
	within := func(what string, want bool) {
		t.Helper()
		start := time.Now()
		for time.Since(start) < time.Second {
			if mon.State().DatabaseUp == want {
				t.Logf("%s seen after %v", what, time.Since(start).Round(time.Millisecond))
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatalf("%s not seen within 1 s: %+v", what, mon.State())
	}
	within("a reachable database", true)
	for _, fault := range []struct {
		name string
		do   func()
	}{{"stall", proxy.Stall}, {"cut", proxy.Cut}} {
		fault.do()
		within(fault.name, false)
		if up := testutil.ToFloat64(m.DatabaseUp); up != 0 {
			t.Errorf("db_up = %v during the %s", up, fault.name)
		}
		if err := proxy.Restore(); err != nil {
			t.Fatal(err)
		}
		within("the return after the "+fault.name, true)
		if !mon.State().Ready() {
			t.Errorf("not ready after the %s: %+v", fault.name, mon.State())
		}
	}
}
