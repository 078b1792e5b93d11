package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// EventStats are the figures of one tenant's event log over a time range.
type EventStats struct {
	// Counts is the number of events of each type.
	Counts map[string]int64 `json:"counts"`
	// DurationMSSum is the summed duration of the api_request events.
	DurationMSSum int64 `json:"duration_ms_sum"`
	// ServerErrors is the number of api_request events with status >= 500.
	ServerErrors int64 `json:"server_errors"`
}

func (s *EventStats) add(eventType string, count, durationMS, serverErrors int64) {
	if s.Counts == nil {
		s.Counts = map[string]int64{}
	}
	s.Counts[eventType] += count
	s.DurationMSSum += durationMS
	s.ServerErrors += serverErrors
}

// EventStats sums the tenant's events in [from, to). Whole hours come from
// the hourly rollups; only the partial hours at either end read the raw log,
// so the cost does not grow with the length of the range.
func (db *DB) EventStats(ctx context.Context, from, to time.Time) (EventStats, error) {
	rid, err := tenant(ctx)
	if err != nil {
		return EventStats{}, err
	}
	all, err := db.eventStats(ctx, rid, from, to)
	if err != nil {
		return EventStats{}, err
	}
	s := all[rid]
	if s.Counts == nil {
		s.Counts = map[string]int64{}
	}
	return s, nil
}

// AllTenantsEventStats is EventStats for every tenant at once, for the
// platform overview.
func (db *DB) AllTenantsEventStats(ctx context.Context, from, to time.Time) (map[string]EventStats, error) {
	return db.eventStats(ctx, "", from, to)
}

func (db *DB) eventStats(ctx context.Context, rid string, from, to time.Time) (map[string]EventStats, error) {
	from, to = from.UTC(), to.UTC()
	out := map[string]EventStats{}
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
			var dur, errs sql.NullFloat64
			if err := rows.Scan(&r, &typ, &n, &dur, &errs); err != nil {
				return err
			}
			s := out[r]
			s.add(typ, n, int64(dur.Float64), int64(errs.Float64))
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
		q := fmt.Sprintf(`SELECT restaurant_id, event_type, COUNT(*), SUM(%s), SUM(CASE WHEN %s >= 500 THEN 1 ELSE 0 END)
			FROM tenant_events WHERE %screated_at >= %s AND created_at < %s GROUP BY restaurant_id, event_type`,
			db.jsonNumber("duration_ms"), db.jsonNumber("status"), filter, arg(a), arg(b))
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
	q := fmt.Sprintf(`SELECT restaurant_id, event_type, SUM(event_count), SUM(duration_ms_sum), SUM(server_errors)
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
	count := func(table, rid string) (int64, error) {
		var n int64
		if table == "tenant_events" {
			return db.eventRows(ctx, rid)
		}
		// Table names come from the fixed TenantTables list, never from input.
		err := db.sql.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+table+` WHERE restaurant_id = $1`, rid).Scan(&n)
		return n, err
	}
	for _, table := range TenantTables {
		n, err := count(table, rid)
		if err != nil {
			return nil, 0, wrap("tenant storage", err)
		}
		rows[table] = n
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

// RebuildEventRollups recomputes the tenant's rollups from its raw events,
// for events loaded in bulk outside InsertEvents. Hours whose raw events
// were pruned keep their rollups.
func (db *DB) RebuildEventRollups(ctx context.Context) error {
	rid, err := tenant(ctx)
	if err != nil {
		return err
	}
	hour := db.dialect.hourUTC("created_at")
	day := db.dialect.dayUTC("created_at")
	userID := db.dialect.jsonText("user_id")
	return db.inTx(ctx, func(tx *sql.Tx) error {
		var buckets []rollupKey
		var sums []rollupSums
		rows, err := tx.QueryContext(ctx, fmt.Sprintf(`SELECT %s AS bucket, event_type, COUNT(*),
			SUM(CASE WHEN event_type = 'api_request' THEN %s ELSE 0 END),
			SUM(CASE WHEN event_type = 'api_request' AND %s >= 500 THEN 1 ELSE 0 END)
			FROM tenant_events WHERE restaurant_id = $1 GROUP BY 1, event_type`, hour, db.jsonNumber("duration_ms"), db.jsonNumber("status")), rid)
		if err != nil {
			return wrap("rebuild rollups", err)
		}
		for rows.Next() {
			var k rollupKey
			var s rollupSums
			var bucket any
			var dur, errs float64
			if err := rows.Scan(&bucket, &k.eventType, &s.count, &dur, &errs); err != nil {
				rows.Close()
				return wrap("rebuild rollups", err)
			}
			switch b := bucket.(type) {
			case time.Time:
				k.bucket = b.UTC()
			case string:
				if k.bucket, err = time.Parse("2006-01-02 15:04:05-07:00", b); err != nil {
					rows.Close()
					return wrap("rebuild rollups", err)
				}
			}
			k.restaurantID, s.durationMS, s.serverErrors = rid, int64(dur), int64(errs)
			buckets, sums = append(buckets, k), append(sums, s)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return wrap("rebuild rollups", err)
		}
		rollups := map[rollupKey]*rollupSums{}
		for i, k := range buckets {
			// Rows from the raw log replace the rollup of the same hour.
			if _, err := tx.ExecContext(ctx, `DELETE FROM tenant_event_rollups WHERE restaurant_id = $1 AND bucket = $2 AND event_type = $3`,
				rid, k.bucket, k.eventType); err != nil {
				return wrap("rebuild rollups", err)
			}
			rollups[k] = &sums[i]
		}
		var users []dailyUser
		urows, err := tx.QueryContext(ctx, fmt.Sprintf(`SELECT DISTINCT %s, %s FROM tenant_events
			WHERE restaurant_id = $1 AND event_type = 'user_login' AND %s IS NOT NULL`, day, userID, userID), rid)
		if err != nil {
			return wrap("rebuild rollups", err)
		}
		for urows.Next() {
			u := dailyUser{restaurantID: rid}
			if err := urows.Scan(&u.day, &u.userID); err != nil {
				urows.Close()
				return wrap("rebuild rollups", err)
			}
			users = append(users, u)
		}
		urows.Close()
		if err := urows.Err(); err != nil {
			return wrap("rebuild rollups", err)
		}
		return wrap("rebuild rollups", writeRollups(ctx, db.dialect, tx, rollups, users))
	})
}
