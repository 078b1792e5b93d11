package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// RollupBucket is one hour of one event type in a tenant's log.
type RollupBucket struct {
	Bucket        time.Time
	Type          string
	Count         int64
	DurationMSSum int64
	ServerErrors  int64
}

// EventRollups lists the tenant's hourly rollups with buckets in [from, to),
// oldest first: the series behind the dashboard's charts, read without
// touching the raw log.
func (db *DB) EventRollups(ctx context.Context, from, to time.Time) ([]RollupBucket, error) {
	rid, err := tenant(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := db.sql.QueryContext(ctx, `SELECT bucket, event_type, event_count, duration_ms_sum, server_errors
		FROM tenant_event_rollups WHERE restaurant_id = $1 AND bucket >= $2 AND bucket < $3
		ORDER BY bucket, event_type`, rid, from.UTC(), to.UTC())
	if err != nil {
		return nil, wrap("event rollups", err)
	}
	defer rows.Close()
	out := []RollupBucket{}
	for rows.Next() {
		var b RollupBucket
		var at any
		if err := rows.Scan(&at, &b.Type, &b.Count, &b.DurationMSSum, &b.ServerErrors); err != nil {
			return nil, wrap("event rollups", err)
		}
		if b.Bucket, err = aggregateTime(at); err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, wrap("event rollups", rows.Err())
}

// DayOrders is one UTC day of a tenant's orders.
type DayOrders struct {
	Day        string // YYYY-MM-DD
	Count      int64
	TotalCents int64
}

// OrdersByDay counts the tenant's orders created in [from, to) and sums
// their totals per UTC day, oldest first; days without orders are absent.
// Like OrderStats it reports nothing on a schema without orders.
func (db *DB) OrdersByDay(ctx context.Context, from, to time.Time) ([]DayOrders, error) {
	rid, err := tenant(ctx)
	if err != nil {
		return nil, err
	}
	dayExpr := db.dialect.dayUTC("created_at")
	rows, err := db.sql.QueryContext(ctx, fmt.Sprintf(`SELECT %[1]s, COUNT(*), SUM(total_amount_cents) FROM orders
		WHERE restaurant_id = $1 AND created_at >= $2 AND created_at < $3 GROUP BY %[1]s ORDER BY %[1]s`, dayExpr),
		rid, from.UTC(), to.UTC())
	if db.isMissingTable(ctx, err, "orders") {
		return []DayOrders{}, nil
	}
	if err != nil {
		return nil, wrap("orders by day", err)
	}
	defer rows.Close()
	out := []DayOrders{}
	for rows.Next() {
		var d DayOrders
		var total sql.NullInt64
		if err := rows.Scan(&d.Day, &d.Count, &total); err != nil {
			return nil, wrap("orders by day", err)
		}
		d.TotalCents = total.Int64
		out = append(out, d)
	}
	return out, wrap("orders by day", rows.Err())
}

// RequestDurationPercentile is the duration (ms) at or below which the
// fraction p of the tenant's api_request events in [from, to) finished (the
// nearest-rank percentile), and how many requests there were. The rollups
// keep only sums, so this reads the raw log of the range, in the database.
func (db *DB) RequestDurationPercentile(ctx context.Context, from, to time.Time, p float64) (ms, n int64, err error) {
	rid, err := tenant(ctx)
	if err != nil {
		return 0, 0, err
	}
	if err := db.sql.QueryRowContext(ctx, `SELECT COUNT(*) FROM tenant_events
		WHERE restaurant_id = $1 AND event_type = 'api_request' AND created_at >= $2 AND created_at < $3`,
		rid, from.UTC(), to.UTC()).Scan(&n); err != nil {
		return 0, 0, wrap("request percentile", err)
	}
	if n == 0 {
		return 0, 0, nil
	}
	rank := int64(p*float64(n)+0.999999999) - 1 // ceil(p·n) as a 0-based offset
	rank = max(0, min(rank, n-1))
	var v float64
	err = db.sql.QueryRowContext(ctx, fmt.Sprintf(`SELECT %[1]s FROM tenant_events
		WHERE restaurant_id = $1 AND event_type = 'api_request' AND created_at >= $2 AND created_at < $3
		ORDER BY %[1]s LIMIT 1 OFFSET $4`, db.jsonNumber("duration_ms")), rid, from.UTC(), to.UTC(), rank).Scan(&v)
	return int64(v), n, wrap("request percentile", err)
}

// RouteStat is one route's traffic in a tenant's log.
type RouteStat struct {
	Method, Route string
	Count         int64
	ServerErrors  int64
	MeanMS        float64
}

// TopRoutes lists the tenant's busiest routes (the route pattern of each
// api_request event) in [from, to), busiest first.
func (db *DB) TopRoutes(ctx context.Context, from, to time.Time, limit int) ([]RouteStat, error) {
	rid, err := tenant(ctx)
	if err != nil {
		return nil, err
	}
	route, method := db.dialect.jsonText("route"), db.dialect.jsonText("method")
	rows, err := db.sql.QueryContext(ctx, fmt.Sprintf(`SELECT COALESCE(%[1]s, ''), COALESCE(%[2]s, ''), COUNT(*),
		SUM(CASE WHEN %[3]s >= 500 THEN 1 ELSE 0 END), AVG(%[4]s)
		FROM tenant_events WHERE restaurant_id = $1 AND event_type = 'api_request' AND created_at >= $2 AND created_at < $3
		GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2 LIMIT $4`, method, route, db.jsonNumber("status"), db.jsonNumber("duration_ms")),
		rid, from.UTC(), to.UTC(), limit)
	if err != nil {
		return nil, wrap("top routes", err)
	}
	defer rows.Close()
	out := []RouteStat{}
	for rows.Next() {
		var s RouteStat
		var errs, mean sql.NullFloat64
		if err := rows.Scan(&s.Method, &s.Route, &s.Count, &errs, &mean); err != nil {
			return nil, wrap("top routes", err)
		}
		s.ServerErrors, s.MeanMS = int64(errs.Float64), mean.Float64
		out = append(out, s)
	}
	return out, wrap("top routes", rows.Err())
}

// RecentEvents lists the tenant's newest events, newest first, without
// counting the whole log as Events does.
func (db *DB) RecentEvents(ctx context.Context, limit int) ([]TenantEvent, error) {
	rid, err := tenant(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := db.sql.QueryContext(ctx, `SELECT restaurant_id, id, event_type, event_data, created_at FROM tenant_events
		WHERE restaurant_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2`, rid, limit)
	if err != nil {
		return nil, wrap("recent events", err)
	}
	defer rows.Close()
	out := []TenantEvent{}
	for rows.Next() {
		var e TenantEvent
		var data string
		if err := rows.Scan(&e.RestaurantID, &e.ID, &e.Type, &data, &e.CreatedAt); err != nil {
			return nil, wrap("recent events", err)
		}
		e.Data, e.CreatedAt = []byte(data), e.CreatedAt.UTC()
		out = append(out, e)
	}
	return out, wrap("recent events", rows.Err())
}
