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

// BenchmarkDashboard times the advanced dashboard for a tenant with
// BENCH_EVENTS events (default 1,000,000) over 60 days: the series come from
// the rollups, the p95 and the top routes from the last 24 hours of the raw
// log (about 1/60 of it).
func BenchmarkDashboard(b *testing.B) {
	n := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("BENCH_EVENTS")); err == nil && v > 0 {
		n = v
	}
	now := time.Now().UTC().Truncate(time.Second)
	db := storetest.OpenWithClock(b, func() time.Time { return now })
	r, err := db.CreateRestaurant(context.Background(), "Busy", "BU")
	if err != nil {
		b.Fatal(err)
	}
	generateEvents(b, db, r.ID, n, now)
	ctx := tenancy.WithTenant(context.Background(), r.ID)
	svc := &analytics.Service{DB: db}
	b.ResetTimer()
	var d analytics.Dashboard
	for i := 0; i < b.N; i++ {
		if d, err = svc.Dashboard(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/op")
	b.ReportMetric(float64(d.Requests24h), "requests-24h")
}
