package console_test

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/console"
	"github.com/shimizu-tech/ordersuite/internal/flags"
	"github.com/shimizu-tech/ordersuite/internal/storetest"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// BenchmarkAnalyticsPage times the advanced analytics page, served over
// HTTP to a signed-in admin, for a restaurant with BENCH_EVENTS events
// (default 1,000,000) in the current hour.
func BenchmarkAnalyticsPage(b *testing.B) {
	n := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("BENCH_EVENTS")); err == nil && v > 0 {
		n = v
	}
	e := newEnv(b)
	now := e.db.Now()
	load, rebuild := storetest.GenerateEvents(b, e.db, e.A.ID, n, now.Truncate(time.Hour), now)
	b.Logf("%s: %d events in the current hour loaded in %v, rollups rebuilt in %v", e.db.Engine, n, load.Round(time.Millisecond), rebuild.Round(time.Millisecond))
	on := true
	if _, err := e.flags.Set(tenancy.WithTenant(b.Context(), e.A.ID), console.AdvancedAnalyticsFlag, false, flags.Change{Enabled: &on}); err != nil {
		b.Fatal(err)
	}
	br := e.browser()
	br.login("admin@as.test")
	b.Run("advanced", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			p := br.get(tenantPath(e.A.ID, "/analytics"))
			if p.Status != 200 || !strings.Contains(p.Body, `id="advanced"`) {
				b.Fatalf("analytics page: %d", p.Status)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/op")
	})
}
