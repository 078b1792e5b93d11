package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// GenerateEvents fills a tenant's log with n events spread evenly over
// [from, to), in the database itself (generate_series on PostgreSQL, a
// recursive CTE on SQLite) so a million rows take seconds, then rebuilds the
// tenant's rollups from them: 98 % api_request on four routes (1 in 50
// answered 500, durations 0–199 ms), 1 % error, 1 % user_login by 997
// users. On PostgreSQL the table is analyzed after the load, as autovacuum
// would. It returns how long the load and the rebuild took.
func GenerateEvents(tb testing.TB, db *store.DB, rid string, n int, from, to time.Time) (load, rebuild time.Duration) {
	tb.Helper()
	ctx := context.Background()
	start := time.Now()
	spanMicros := to.Sub(from).Microseconds()
	var err error
	if db.Engine == store.Postgres {
		_, err = db.SQL().ExecContext(ctx, `INSERT INTO tenant_events (restaurant_id, id, event_type, event_data, created_at)
			SELECT $1, lpad(to_hex(i), 32, '0')::uuid,
				CASE WHEN i % 100 = 0 THEN 'user_login' WHEN i % 100 = 1 THEN 'error' ELSE 'api_request' END,
				CASE WHEN i % 100 = 0 THEN jsonb_build_object('user_id', 'u' || (i % 997))
					WHEN i % 100 = 1 THEN jsonb_build_object('error_type', 'server_error', 'status', 500)
					ELSE jsonb_build_object('path', '/api/v1/orders', 'method', 'GET', 'route', '/api/v1/r' || (i % 4), 'duration_ms', i % 200,
						'status', CASE WHEN i % 50 = 7 THEN 500 ELSE 200 END) END,
				$2::timestamptz + make_interval(secs => ((i - 1)::bigint * $4 / $3) / 1000000.0)
			FROM generate_series(1, $3::bigint) AS i`, rid, from.UTC(), n, spanMicros)
	} else {
		_, err = db.SQL().ExecContext(ctx, `WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < ?3)
			INSERT INTO tenant_events (restaurant_id, id, event_type, event_data, created_at)
			SELECT ?1, printf('00000000-0000-7000-8000-%012x', i),
				CASE WHEN i % 100 = 0 THEN 'user_login' WHEN i % 100 = 1 THEN 'error' ELSE 'api_request' END,
				CASE WHEN i % 100 = 0 THEN json_object('user_id', 'u' || (i % 997))
					WHEN i % 100 = 1 THEN json_object('error_type', 'server_error', 'status', 500)
					ELSE json_object('path', '/api/v1/orders', 'method', 'GET', 'route', '/api/v1/r' || (i % 4), 'duration_ms', i % 200,
						'status', CASE WHEN i % 50 = 7 THEN 500 ELSE 200 END) END,
				strftime('%Y-%m-%d %H:%M:%f+00:00', ?2, '+' || (((i - 1) * ?4 / ?3) / 1000000.0) || ' seconds')
			FROM s`, rid, from.UTC().Format("2006-01-02 15:04:05"), n, spanMicros)
	}
	if err != nil {
		tb.Fatal(err)
	}
	if db.Engine == store.Postgres {
		// What autovacuum does after a load this size: without statistics
		// the planner takes the tenant for a few rows and picks plans
		// (bitmap scans, full sorts) no running server would use.
		if _, err := db.SQL().ExecContext(ctx, `ANALYZE tenant_events`); err != nil {
			tb.Fatal(err)
		}
	}
	load = time.Since(start)
	if err := db.RebuildEventRollups(tenancy.WithTenant(ctx, rid)); err != nil {
		tb.Fatal(err)
	}
	return load, time.Since(start) - load
}
