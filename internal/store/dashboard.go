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

// EventCursor marks where a page of the events listing ended: the last
// event's time and id. The zero cursor starts at the newest event.
type EventCursor struct {
	At time.Time
	ID string
}

// RecentEvents lists up to limit of the tenant's events older than the
// cursor, newest first, optionally of one type, and the cursor of the next
// page (zero when there is none). Paging by (created_at, id) walks the
// index, so the thousandth page costs what the first does; no OFFSET, no
// count of the whole log.
func (db *DB) RecentEvents(ctx context.Context, eventType string, after EventCursor, limit int) ([]TenantEvent, EventCursor, error) {
	return db.listEvents(ctx, EventFilter{Type: eventType, After: after}, limit)
}
