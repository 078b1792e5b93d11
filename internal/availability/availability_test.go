package availability_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/shimizu-tech/ordersuite/internal/availability"
	"github.com/shimizu-tech/ordersuite/internal/metrics"
	"github.com/shimizu-tech/ordersuite/internal/storetest"
	"github.com/shimizu-tech/ordersuite/internal/syncbuf"
)

func TestMonitorReadyOnAHealthyDatabase(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t)
	m := metrics.New()
	// The first ping opens the prober's connection: on a loaded server
	// that can take longer than the default timeout, which is not what
	// this test is about.
	mon := availability.NewMonitor(db, availability.Options{Metrics: m, Timeout: 10 * time.Second})
	mon.Start(context.Background())
	defer mon.Close()
	if st := mon.State(); !st.Ready() {
		t.Fatalf("a migrated, reachable database is not ready: %+v", st)
	}
	if up := testutil.ToFloat64(m.DatabaseUp); up != 1 {
		t.Errorf("db_up = %v", up)
	}
}

// TestMonitorFindsADatabaseSlowToConnect: a database back from a cut that
// takes longer to start a session than a ping may take (a loaded host) is
// found up, and ready, however many pings that is; a ping on the open
// connection still has only its timeout.
func TestMonitorFindsADatabaseSlowToConnect(t *testing.T) {
	t.Parallel()
	_, db, proxy := storetest.OpenBehindProxy(t)
	const timeout = 150 * time.Millisecond
	mon := availability.NewMonitor(db, availability.Options{Interval: 50 * time.Millisecond, Timeout: timeout})
	mon.Start(context.Background())
	defer mon.Close()
	waitFor := func(what string, limit time.Duration, want func(availability.State) bool) {
		t.Helper()
		start := time.Now()
		for time.Since(start) < limit {
			if want(mon.State()) {
				t.Logf("%s after %v", what, time.Since(start).Round(time.Millisecond))
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatalf("%s not seen within %v: %+v", what, limit, mon.State())
	}
	waitFor("ready", 5*time.Second, availability.State.Ready)
	proxy.Cut()
	waitFor("down", 5*time.Second, func(s availability.State) bool { return !s.DatabaseUp })
	proxy.SlowConnect(3 * timeout) // every new session takes three pings' time
	if err := proxy.Restore(); err != nil {
		t.Fatal(err)
	}
	waitFor("ready again", 5*time.Second, availability.State.Ready)
}

// TestMonitorSeesAStallAndACut: a database that hangs (no answer, no
// error) and one that refuses connections are both seen as down within a
// second, and as up within a second of their return.
func TestMonitorSeesAStallAndACut(t *testing.T) {
	t.Parallel()
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

// TestReporterLogsOnceASecondWithACount: a flood of refusals makes one
// warning a second, each with the number refused since the previous one,
// while the counter counts every refusal.
func TestReporterLogsOnceASecondWithACount(t *testing.T) {
	t.Parallel()
	var buf syncbuf.Buffer
	m := metrics.New()
	r := &availability.Reporter{Log: slog.New(slog.NewJSONHandler(&buf, nil)), Metrics: m}
	cause := errors.New("connection refused")
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 250; i++ {
				r.Report(context.Background(), "http", cause)
			}
		}()
	}
	wg.Wait()
	time.Sleep(1100 * time.Millisecond)
	r.Report(context.Background(), "http", cause)

	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var v map[string]any
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		lines = append(lines, v)
	}
	if len(lines) != 2 {
		t.Fatalf("%d log lines for 2001 refusals over 1.1 s, want 2:\n%s", len(lines), buf.String())
	}
	total := 0.0
	for _, l := range lines {
		if l["level"] != "WARN" {
			t.Errorf("level %v, want WARN", l["level"])
		}
		total += l["refused_since_last_report"].(float64)
	}
	// The second line counts everything since the first.
	if total != 2001 {
		t.Errorf("the lines count %v refusals, want 2001", total)
	}
	if n := testutil.ToFloat64(m.DBUnavailable.WithLabelValues("http")); n != 2001 {
		t.Errorf("db_unavailable_total{source=http} = %v, want 2001", n)
	}
}
