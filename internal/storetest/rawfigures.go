package storetest

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/store"
)

// RawFigures are a tenant's figures over [from, to) worked out by plain SQL
// over the raw events, written independently of the rollups and of the
// analytics package, for tests that hold every reported figure to them.
type RawFigures struct {
	// Requests counts api_request events; ServerErrors those with status
	// >= 500; DurationSum sums their duration_ms.
	Requests, ServerErrors, DurationSum int64
	// ErrorEvents counts error events.
	ErrorEvents int64
	// Durations are the api_request durations, sorted.
	Durations []int64
	// Orders and RevenueCents are the orders created in the range (the
	// orders table, every status) and their total.
	Orders, RevenueCents int64
	// ActiveUsers counts distinct user_ids of user_login events.
	ActiveUsers int64
}

func jsonField(db *store.DB, field string, number bool) string {
	if db.Engine == store.Postgres {
		if number {
			return fmt.Sprintf(`(event_data->>'%s')::bigint`, field)
		}
		return fmt.Sprintf(`event_data->>'%s'`, field)
	}
	return fmt.Sprintf(`json_extract(event_data, '$.%s')`, field)
}

// Raw works out the tenant's figures over [from, to) from the raw log.
func Raw(tb testing.TB, db *store.DB, rid string, from, to time.Time) RawFigures {
	tb.Helper()
	ctx := context.Background()
	var f RawFigures
	var errs, sum sql.NullInt64
	q := fmt.Sprintf(`SELECT COUNT(*), SUM(CASE WHEN %[1]s >= 500 THEN 1 ELSE 0 END), SUM(%[2]s) FROM tenant_events
		WHERE restaurant_id = $1 AND event_type = 'api_request' AND created_at >= $2 AND created_at < $3`,
		jsonField(db, "status", true), jsonField(db, "duration_ms", true))
	if err := db.SQL().QueryRowContext(ctx, q, rid, from, to).Scan(&f.Requests, &errs, &sum); err != nil {
		tb.Fatal(err)
	}
	f.ServerErrors, f.DurationSum = errs.Int64, sum.Int64
	if err := db.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM tenant_events WHERE restaurant_id = $1 AND event_type = 'error'
		AND created_at >= $2 AND created_at < $3`, rid, from, to).Scan(&f.ErrorEvents); err != nil {
		tb.Fatal(err)
	}
	rows, err := db.SQL().QueryContext(ctx, fmt.Sprintf(`SELECT %s FROM tenant_events WHERE restaurant_id = $1 AND event_type = 'api_request'
		AND created_at >= $2 AND created_at < $3 ORDER BY 1`, jsonField(db, "duration_ms", true)), rid, from, to)
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var d int64
		if err := rows.Scan(&d); err != nil {
			tb.Fatal(err)
		}
		f.Durations = append(f.Durations, d)
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
	var cents sql.NullInt64
	if err := db.SQL().QueryRowContext(ctx, `SELECT COUNT(*), SUM(total_amount_cents) FROM orders WHERE restaurant_id = $1
		AND created_at >= $2 AND created_at < $3`, rid, from, to).Scan(&f.Orders, &cents); err != nil {
		tb.Fatal(err)
	}
	f.RevenueCents = cents.Int64
	if err := db.SQL().QueryRowContext(ctx, `SELECT COUNT(DISTINCT `+jsonField(db, "user_id", false)+`) FROM tenant_events WHERE restaurant_id = $1
		AND event_type = 'user_login' AND created_at >= $2 AND created_at < $3`, rid, from, to).Scan(&f.ActiveUsers); err != nil {
		tb.Fatal(err)
	}
	return f
}

// Pct is part × 100 / whole rounded to 2 decimals; 0 without a whole.
func Pct(part, whole int64) float64 {
	if whole == 0 {
		return 0
	}
	return math.Round(float64(part)*100*100/float64(whole)) / 100
}

// Mean is sum / n rounded to 2 decimals; 0 when n is 0.
func Mean(sum, n int64) float64 {
	if n == 0 {
		return 0
	}
	return math.Round(float64(sum)*100/float64(n)) / 100
}

// Percentile is what Prometheus's histogram_quantile makes of durations
// (sorted) counted in the buckets of store.DurationBucketsMS, worked out
// from the raw values: the bucket holding rank q·n, linear interpolation
// inside it (from 0 below the first bound), the highest finite bound for
// a rank in the open bucket; rounded to whole milliseconds.
func Percentile(durations []int64, q float64) float64 {
	if len(durations) == 0 {
		return 0
	}
	bounds := store.DurationBucketsMS[:]
	bucket := func(d int64) int {
		for i, b := range bounds {
			if d <= b {
				return i
			}
		}
		return len(bounds)
	}
	rank := q * float64(len(durations))
	k := int(math.Ceil(rank)) - 1
	b := bucket(durations[k])
	if b == len(bounds) {
		return float64(bounds[len(bounds)-1])
	}
	lower := 0.0
	if b > 0 {
		lower = float64(bounds[b-1])
	}
	upper := float64(bounds[b])
	var below, in int64
	for _, d := range durations {
		switch x := bucket(d); {
		case x < b:
			below++
		case x == b:
			in++
		}
	}
	return math.Round(lower + (upper-lower)*(rank-float64(below))/float64(in))
}
