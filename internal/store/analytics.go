package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// eventCounts are the event counts of one tenant over a time range.
type eventCounts struct {
	Counts map[string]int64
}

func (s *eventCounts) add(eventType string, count int64) {
	if s.Counts == nil {
		s.Counts = map[string]int64{}
	}
	s.Counts[eventType] += count
}

// eventStats counts the events in [from, to) exactly, for the events
// listing's total: whole hours from the rollups, the partial hours at either
// end from the raw log. Reports use the rollups alone (RollupStats).
func (db *DB) eventStats(ctx context.Context, rid string, from, to time.Time) (map[string]eventCounts, error) {
	from, to = from.UTC(), to.UTC()
	out := map[string]eventCounts{}
	if !from.Before(to) {
		return out, nil
	}
	collect := func(rows *sql.Rows, err error) error {
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var r, typ string
			var n int64
			if err := rows.Scan(&r, &typ, &n); err != nil {
				return err
			}
			s := out[r]
			s.add(typ, n)
			out[r] = s
		}
		return rows.Err()
	}
	filter, args := "", []any{}
	if rid != "" {
		filter, args = "restaurant_id = $1 AND ", []any{rid}
	}
	arg := func(t time.Time) string {
		args = append(args, t)
		return fmt.Sprintf("$%d", len(args))
	}
	raw := func(a, b time.Time) error {
		if !a.Before(b) {
			return nil
		}
		saved := args
		q := fmt.Sprintf(`SELECT restaurant_id, event_type, COUNT(*)
			FROM tenant_events WHERE %screated_at >= %s AND created_at < %s GROUP BY restaurant_id, event_type`,
			filter, arg(a), arg(b))
		err := collect(db.sql.QueryContext(ctx, q, args...))
		args = saved
		return err
	}
	fullFrom, fullTo := from.Truncate(time.Hour), to.Truncate(time.Hour)
	if fullFrom.Before(from) {
		fullFrom = fullFrom.Add(time.Hour)
	}
	if !fullFrom.Before(fullTo) {
		return out, wrap("event stats", raw(from, to))
	}
	q := fmt.Sprintf(`SELECT restaurant_id, event_type, SUM(event_count)
		FROM tenant_event_rollups WHERE %sbucket >= %s AND bucket < %s GROUP BY restaurant_id, event_type`, filter, arg(fullFrom), arg(fullTo))
	err := collect(db.sql.QueryContext(ctx, q, args...))
	args = args[:len(args)-2]
	if err == nil {
		err = raw(from, fullFrom)
	}
	if err == nil {
		err = raw(fullTo, to)
	}
	return out, wrap("event stats", err)
}

// jsonNumber extracts a numeric field of event_data, 0 when absent or not a
// number (a malformed payload must not fail a report).
func (db *DB) jsonNumber(field string) string { return db.dialect.jsonNumber(field) }

func wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("store: %s: %w", what, err)
}

// ActiveUsers counts the distinct users who logged in to the tenant on the
// days fromDay to toDay inclusive (YYYY-MM-DD, UTC).
func (db *DB) ActiveUsers(ctx context.Context, fromDay, toDay string) (int64, error) {
	rid, err := tenant(ctx)
	if err != nil {
		return 0, err
	}
	var n int64
	err = db.sql.QueryRowContext(ctx, `SELECT COUNT(DISTINCT user_id) FROM tenant_daily_users
		WHERE restaurant_id = $1 AND day >= $2 AND day <= $3`, rid, fromDay, toDay).Scan(&n)
	return n, wrap("active users", err)
}

// CountUsers counts the tenant's users.
func (db *DB) CountUsers(ctx context.Context) (int64, error) {
	rid, err := tenant(ctx)
	if err != nil {
		return 0, err
	}
	var n int64
	err = db.sql.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE restaurant_id = $1`, rid).Scan(&n)
	return n, wrap("count users", err)
}

// OrderStats counts the tenant's orders created in [from, to) and sums their
// total_amount_cents. It relies only on the orders columns restaurant_id,
// created_at and total_amount_cents; on a schema without orders it reports
// zero, so analytics works before the order tables are installed.
func (db *DB) OrderStats(ctx context.Context, from, to time.Time) (count, totalCents int64, err error) {
	rid, err := tenant(ctx)
	if err != nil {
		return 0, 0, err
	}
	var total sql.NullInt64
	err = db.sql.QueryRowContext(ctx, `SELECT COUNT(*), SUM(total_amount_cents) FROM orders
		WHERE restaurant_id = $1 AND created_at >= $2 AND created_at < $3`, rid, from.UTC(), to.UTC()).Scan(&count, &total)
	if db.isMissingTable(ctx, err, "orders") {
		return 0, 0, nil
	}
	return count, total.Int64, wrap("order stats", err)
}

// isMissingTable tells whether err failed a statement because the schema
// lacks table. SQLite has no result code of its own for that, so where the
// error's code does not tell, the catalog is asked.
func (db *DB) isMissingTable(ctx context.Context, err error, table string) bool {
	if err == nil {
		return false
	}
	if db.failure(err) == failMissingTable {
		return true
	}
	exists, cerr := db.dialect.tableExists(ctx, db.sql, table)
	return cerr == nil && !exists
}

// TenantStorage estimates the space the tenant takes in the database: its
// row count per tenant table, and bytes as each table's size shared out by
// rows. Both engines keep a tenant's rows interleaved with others', so this
// is an estimate, not an exact figure. The event log, by far the largest
// table, is counted from its rollups so the estimate stays cheap at
// millions of events.
func (db *DB) TenantStorage(ctx context.Context) (rows map[string]int64, bytes int64, err error) {
	rid, err := tenant(ctx)
	if err != nil {
		return nil, 0, err
	}
	rows = map[string]int64{}
	// One statement counts every table (a round trip per table took most
	// of health_metrics' time on a busy server).
	var parts []string
	for _, table := range TenantTables {
		if table == "tenant_events" {
			continue
		}
		// Table names come from the fixed TenantTables list, never from input.
		parts = append(parts, `SELECT '`+table+`', COUNT(*) FROM `+table+` WHERE restaurant_id = $1`)
	}
	counted, err := db.sql.QueryContext(ctx, strings.Join(parts, " UNION ALL "), rid)
	if err != nil {
		return nil, 0, wrap("tenant storage", err)
	}
	for counted.Next() {
		var table string
		var n int64
		if err := counted.Scan(&table, &n); err != nil {
			counted.Close()
			return nil, 0, wrap("tenant storage", err)
		}
		rows[table] = n
	}
	counted.Close()
	if err := counted.Err(); err != nil {
		return nil, 0, wrap("tenant storage", err)
	}
	if rows["tenant_events"], err = db.eventRows(ctx, rid); err != nil {
		return nil, 0, wrap("tenant storage", err)
	}
	bytes, err = db.dialect.storageBytes(ctx, db, rows)
	if err != nil {
		return nil, 0, wrap("tenant storage", err)
	}
	return rows, bytes, nil
}

// eventRows counts a tenant's stored events from the rollups of the hours
// since its oldest stored event (retention prunes whole hours, so those
// rollups count exactly the rows still there).
func (db *DB) eventRows(ctx context.Context, rid string) (int64, error) {
	// ORDER BY … LIMIT 1 rather than MIN: SQLite returns MIN of a
	// timestamp as bare text, the column itself as a time.
	var oldest time.Time
	err := db.sql.QueryRowContext(ctx, `SELECT created_at FROM tenant_events WHERE restaurant_id = $1 ORDER BY created_at LIMIT 1`, rid).Scan(&oldest)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	var n sql.NullInt64
	err = db.sql.QueryRowContext(ctx, `SELECT SUM(event_count) FROM tenant_event_rollups WHERE restaurant_id = $1 AND bucket >= $2`,
		rid, oldest.UTC().Truncate(time.Hour)).Scan(&n)
	return n.Int64, err
}

// PruneEvents deletes the events created before cutoff, in every tenant, a
// batch at a time so no transaction holds the table for long. The rollups
// are kept: usage figures survive their raw events. The cutoff is rounded
// down to the hour so no hour is left half pruned (RebuildEventRollups
// would otherwise count only its remaining half).
func (db *DB) PruneEvents(ctx context.Context, cutoff time.Time, batch int) (int64, error) {
	cutoff = cutoff.UTC().Truncate(time.Hour)
	ids, err := db.strings(ctx, `SELECT id FROM restaurants ORDER BY id`)
	if err != nil {
		return 0, wrap("prune events", err)
	}
	var total int64
	for _, rid := range ids {
		for {
			res, err := db.sql.ExecContext(ctx, `DELETE FROM tenant_events WHERE restaurant_id = $1 AND id IN (
				SELECT id FROM tenant_events WHERE restaurant_id = $1 AND created_at < $2 LIMIT $3)`, rid, cutoff.UTC(), batch)
			if err != nil {
				return total, wrap("prune events", err)
			}
			n, _ := res.RowsAffected()
			total += n
			if n < int64(batch) {
				break
			}
		}
	}
	return total, nil
}

// ErrLockHeld means another instance holds the lock.
var ErrLockHeld = errors.New("store: lock held by another instance")

// WithInstanceLock runs fn only if no other instance on the same PostgreSQL
// holds the advisory lock key, and returns ErrLockHeld otherwise. SQLite is
// one process's database, so there fn simply runs.
func (db *DB) WithInstanceLock(ctx context.Context, key int64, fn func(context.Context) error) error {
	return db.dialect.withInstanceLock(ctx, db, key, fn)
}
