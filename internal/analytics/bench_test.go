package analytics_test

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/analytics"
	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/storetest"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// generateEvents fills the tenant's log with n events spread over the 60
// days before now, in the database itself (generate_series on PostgreSQL, a
// recursive CTE on SQLite) so that millions of rows take seconds: 98 %
// api_request (1 in 50 answered 500), 1 % error, 1 % user_login by 997
// distinct users. The rollups are then rebuilt from the raw log.
func generateEvents(b *testing.B, db *store.DB, rid string, n int, now time.Time) {
	b.Helper()
	ctx := context.Background()
	start := time.Now()
	var err error
	if db.Engine == store.Postgres {
		_, err = db.SQL().ExecContext(ctx, `INSERT INTO tenant_events (restaurant_id, id, event_type, event_data, created_at)
			SELECT $1, lpad(to_hex(i), 32, '0')::uuid,
				CASE WHEN i % 100 = 0 THEN 'user_login' WHEN i % 100 = 1 THEN 'error' ELSE 'api_request' END,
				CASE WHEN i % 100 = 0 THEN jsonb_build_object('user_id', 'u' || (i % 997))
					WHEN i % 100 = 1 THEN jsonb_build_object('error_type', 'server_error')
					ELSE jsonb_build_object('path', '/api/v1/orders', 'method', 'GET', 'duration_ms', i % 200,
						'status', CASE WHEN i % 50 = 7 THEN 500 ELSE 200 END) END,
				$2::timestamptz - make_interval(secs => (i::bigint * 5184000 / $3))
			FROM generate_series(1, $3::bigint) AS i`, rid, now, n)
	} else {
		_, err = db.SQL().ExecContext(ctx, `WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < ?3)
			INSERT INTO tenant_events (restaurant_id, id, event_type, event_data, created_at)
			SELECT ?1, printf('00000000-0000-7000-8000-%012x', i),
				CASE WHEN i % 100 = 0 THEN 'user_login' WHEN i % 100 = 1 THEN 'error' ELSE 'api_request' END,
				CASE WHEN i % 100 = 0 THEN json_object('user_id', 'u' || (i % 997))
					WHEN i % 100 = 1 THEN json_object('error_type', 'server_error')
					ELSE json_object('path', '/api/v1/orders', 'method', 'GET', 'duration_ms', i % 200,
						'status', CASE WHEN i % 50 = 7 THEN 500 ELSE 200 END) END,
				strftime('%Y-%m-%d %H:%M:%S+00:00', ?2, '-' || (i * 5184000 / ?3) || ' seconds')
			FROM s`, rid, now.Format("2006-01-02 15:04:05"), n)
	}
	if err != nil {
		b.Fatal(err)
	}
	loaded := time.Since(start)
	if err := db.RebuildEventRollups(tenancy.WithTenant(ctx, rid)); err != nil {
		b.Fatal(err)
	}
	b.Logf("%s: generated %d events in %v, rollups rebuilt in %v", db.Engine, n, loaded.Round(time.Millisecond), (time.Since(start) - loaded).Round(time.Millisecond))
}

// BenchmarkUsageStats times usage_stats (last 30 days) for a tenant with
// BENCH_EVENTS events (default 1,000,000), and for contrast the seed's way
// of counting requests and averaging their durations from the raw log.
func BenchmarkUsageStats(b *testing.B) {
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
	from, to := analytics.DefaultRange(now)
	b.Run("rollups", func(b *testing.B) {
		var u analytics.Usage
		for i := 0; i < b.N; i++ {
			if u, err = svc.UsageStats(ctx, from, to); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/op")
		b.ReportMetric(float64(u.APIRequests.Count), "requests-counted")
	})
	b.Run("raw-scan", func(b *testing.B) {
		q := `SELECT COUNT(*), AVG((event_data->>'duration_ms')::numeric) FROM tenant_events
			WHERE restaurant_id = $1 AND event_type = 'api_request' AND created_at >= $2 AND created_at < $3`
		if db.Engine == store.SQLite {
			q = `SELECT COUNT(*), AVG(json_extract(event_data, '$.duration_ms')) FROM tenant_events
			WHERE restaurant_id = $1 AND event_type = 'api_request' AND created_at >= $2 AND created_at < $3`
		}
		for i := 0; i < b.N; i++ {
			var count int64
			var avg float64
			if err := db.SQL().QueryRowContext(ctx, q, r.ID, from, to.AddDate(0, 0, 1)).Scan(&count, &avg); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/op")
	})
	b.Run("events_first_page", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := db.Events(ctx, store.EventFilter{Type: "api_request"}, 25); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/op")
	})
	b.Run("health_metrics", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := svc.HealthMetrics(ctx); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/op")
	})
}
