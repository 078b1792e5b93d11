package analytics_test

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/analytics"
	"github.com/shimizu-tech/ordersuite/internal/storetest"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// BenchmarkBusyCurrentHour times health_metrics, usage_stats and the
// advanced dashboard's figures for a tenant with BENCH_EVENTS events
// (default 1,000,000) all in the current hour, the case that read the raw
// log before the rollups carried the current hour.
func BenchmarkBusyCurrentHour(b *testing.B) {
	n := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("BENCH_EVENTS")); err == nil && v > 0 {
		n = v
	}
	now := time.Now().UTC().Truncate(time.Hour).Add(50 * time.Minute)
	db := storetest.OpenWithClock(b, func() time.Time { return now })
	r, err := db.CreateRestaurant(context.Background(), "Busy", "BU")
	if err != nil {
		b.Fatal(err)
	}
	load, rebuild := storetest.GenerateEvents(b, db, r.ID, n, now.Truncate(time.Hour), now)
	b.Logf("%s: %d events in the current hour loaded in %v, rollups rebuilt in %v", db.Engine, n, load.Round(time.Millisecond), rebuild.Round(time.Millisecond))
	ctx := tenancy.WithTenant(context.Background(), r.ID)
	svc := &analytics.Service{DB: db}
	b.Run("health_metrics", func(b *testing.B) {
		var h analytics.Health
		for i := 0; i < b.N; i++ {
			if h, err = svc.HealthMetrics(ctx); err != nil {
				b.Fatal(err)
			}
		}
		if h.Requests1h != int64(n)*98/100 {
			b.Fatalf("health counted %d requests of %d events", h.Requests1h, n)
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/op")
	})
	b.Run("usage_stats", func(b *testing.B) {
		from, to := analytics.DefaultRange(now)
		for i := 0; i < b.N; i++ {
			if _, err := svc.UsageStats(ctx, from, to); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/op")
	})
	b.Run("dashboard", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := svc.Dashboard(ctx); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/op")
	})
}
