package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Shipping the change log: reading the complete part of a restaurant's log
// in whole transactions, and the platform bookkeeping of the segments
// shipped (change_segments, change_shipping). What a segment is and where it
// goes belongs to the backup package; this is only the SQL.

// LogCut is how far the change log is complete: no transaction still
// running can add a change at or before it.
//
// On PostgreSQL it is a moment (At): transactions commit in any order, a
// transaction's moment is its last change's clock, and a transaction still
// running may yet write changes dated after its start. Read from
// pg_stat_activity before any change is read: At = min(now, the start of
// every transaction holding a transaction id) - 1 µs. Every transaction
// whose moment is at or before At had ended when pg_stat_activity was read,
// so every later read sees all of them.
//
// On SQLite it is a moment too, read in a write transaction: one writer at
// a time, a transaction's changes share its moment, and moments follow
// commit order. Each restaurant's log is then read by seq, from its last
// segment's, up to the first change dated after the cut.
type LogCut struct {
	At  time.Time
	Seq int64
}

// ChangeLogCut reads how far the change log is complete now.
func (db *DB) ChangeLogCut(ctx context.Context) (LogCut, error) {
	if db.Engine == SQLite {
		// In a write transaction no other runs: moving the clock to now
		// (the connection does it as the transaction starts) dates every
		// later transaction at or after it, and every earlier one has
		// committed. A microsecond before it is complete.
		var cut LogCut
		err := db.inTx(ctx, func(tx *sql.Tx) error {
			var at string
			if err := tx.QueryRowContext(ctx, `SELECT at FROM capture_clock WHERE id = 1`).Scan(&at); err != nil {
				return err
			}
			t, err := logTime(at)
			cut.At = t.Add(-time.Microsecond)
			return err
		})
		return cut, wrap("change log cut", err)
	}
	var now time.Time
	var oldest sql.NullTime
	err := db.sql.QueryRowContext(ctx, `SELECT clock_timestamp(), min(xact_start) FROM pg_stat_activity
		WHERE datname = current_database() AND backend_xid IS NOT NULL AND pid <> pg_backend_pid()`).Scan(&now, &oldest)
	if err != nil {
		return LogCut{}, wrap("change log cut", err)
	}
	at := now
	if oldest.Valid && oldest.Time.Before(at) {
		at = oldest.Time
	}
	return LogCut{At: at.Add(-time.Microsecond).UTC().Truncate(time.Microsecond)}, nil
}

// errRollback ends a transaction that only read, without committing the
// clock it moved.
var errRollback = errors.New("rollback")

// ShipFrom is where a restaurant's next segment starts: after its last
// segment's moment (To) and, on SQLite, after the highest seq shipped
// (Seq: the last segment's MaxSeq), reading the log from Floor
// (PostgreSQL: a cut no transaction of a later moment has a change before).
type ShipFrom struct {
	To    time.Time
	Floor time.Time
	Seq   int64
}

// ShipBatch is the changes of one segment: whole transactions in seq order.
type ShipBatch struct {
	Changes []Change
	// To is the latest moment the batch covers: the cut, or, when More,
	// the moment of its last transaction.
	To time.Time
	// More says the batch stopped at its size limit before the cut.
	More bool
	// Seq is the last seq read (SQLite), kept or not: the next batch
	// starts after it.
	Seq int64
	// Floor is where the log must be read from for the next batch
	// (PostgreSQL): every change of a transaction not yet shipped is
	// after it.
	Floor time.Time
}

// ShippableChanges returns the changes of a restaurant after from.To and up
// to cut.At, whole transactions only, at most limit changes (but at least one
// transaction, however large), in seq order.
func (db *DB) ShippableChanges(ctx context.Context, restaurantID string, from ShipFrom, cut LogCut, limit int) (ShipBatch, error) {
	if db.Engine == SQLite {
		return db.shippableSQLite(ctx, restaurantID, from, cut, limit)
	}
	var batch ShipBatch
	err := db.inReadSnapshot(ctx, func(tx *sql.Tx) error {
		// The transactions first: which ones fit, by moment.
		rows, err := tx.QueryContext(ctx, `SELECT tx, max(changed_at), min(changed_at), count(*) FROM tenant_changes
			WHERE restaurant_id = $1 AND changed_at > $2 AND changed_at <= $3
			GROUP BY tx ORDER BY max(changed_at), tx`,
			restaurantID, from.Floor, cut.At)
		if err != nil {
			return err
		}
		type txn struct {
			at, first time.Time
			n         int
		}
		var txs []string
		info := map[string]txn{}
		for rows.Next() {
			var id string
			var t txn
			if err := rows.Scan(&id, &t.at, &t.first, &t.n); err != nil {
				rows.Close()
				return err
			}
			txs = append(txs, id)
			info[id] = t
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		// A transaction with a change after the cut is not complete at it.
		// It ended before the cut was read (one still running then has
		// every change after the cut), but started before a transaction
		// that was running: its changes straddle the cut, and the next
		// segment reads the log from its first one (Floor).
		open, err := db.openTransactions(ctx, tx, restaurantID, cut.At)
		if err != nil {
			return err
		}
		batch.To, batch.Floor = cut.At, cut.At
		for id := range open {
			if t, ok := info[id]; ok && !t.first.After(batch.Floor) {
				batch.Floor = t.first.Add(-time.Microsecond)
			}
		}
		take := map[string]time.Time{}
		count := 0
		var prev time.Time
		for _, id := range txs {
			t := info[id]
			if open[id] || !t.at.After(from.To) {
				continue
			}
			if count > 0 && count+t.n > limit && !t.at.Equal(prev) {
				// Stop between two moments, never inside one.
				batch.To, batch.More = prev, true
				break
			}
			take[id] = t.at
			count += t.n
			prev = t.at
		}
		if count == 0 {
			return nil
		}
		upTo := batch.To
		rows, err = tx.QueryContext(ctx, `SELECT id, tx, changed_at, table_name, op, row_data::text, old_data::text FROM tenant_changes
			WHERE restaurant_id = $1 AND changed_at > $2 AND changed_at <= $3 ORDER BY id`, restaurantID, from.Floor, upTo)
		if err != nil {
			return err
		}
		defer rows.Close()
		conv := newChangeConverter(db)
		for rows.Next() {
			c, keep, err := scanShipped(ctx, conv, rows, restaurantID)
			if err != nil {
				return err
			}
			at, ok := take[c.Tx]
			if !ok || !keep {
				continue
			}
			c.TxAt = at
			batch.Changes = append(batch.Changes, c)
		}
		return rows.Err()
	})
	return batch, wrap("read shippable changes", err)
}

// openTransactions are the transactions with a change after the cut: not
// complete at it.
func (db *DB) openTransactions(ctx context.Context, tx *sql.Tx, restaurantID string, cut time.Time) (map[string]bool, error) {
	rows, err := tx.QueryContext(ctx, `SELECT DISTINCT tx FROM tenant_changes WHERE restaurant_id = $1 AND changed_at > $2`, restaurantID, cut)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out[id] = true
	}
	return out, rows.Err()
}

// shippableSQLite reads the log by seq, on its primary key alone: within
// a restaurant the moments never decrease as seq grows (one writer at a
// time; each write transaction takes its moment from capture_clock, which
// only moves forward, and numbers its changes after the restaurant's
// highest). So the changes after from.Seq dated up to the cut are a prefix
// of the key range after from.Seq, and a transaction's changes are
// contiguous in it.
func (db *DB) shippableSQLite(ctx context.Context, restaurantID string, from ShipFrom, cut LogCut, limit int) (ShipBatch, error) {
	batch := ShipBatch{To: cut.At, Seq: from.Seq}
	err := db.inReadSnapshot(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT id, tx, changed_at, table_name, op, row_data, old_data FROM tenant_changes
			WHERE restaurant_id = $1 AND id > $2 ORDER BY id`, restaurantID, from.Seq)
		if err != nil {
			return err
		}
		// Closing the rows early ends the scan: SQLite steps lazily.
		defer rows.Close()
		conv := newChangeConverter(db)
		var lastAt time.Time
		for rows.Next() {
			c, keep, err := scanShipped(ctx, conv, rows, restaurantID)
			if err != nil {
				return err
			}
			if c.TxAt.After(cut.At) {
				break // not complete at the cut, nor anything after it
			}
			if len(batch.Changes) >= max(limit, 1) && !c.TxAt.Equal(lastAt) {
				// Stop between two moments, never inside one. Only the
				// changes kept count: updates that changed nothing are
				// read past, never a batch of their own.
				batch.To, batch.More = lastAt, true
				break
			}
			batch.Seq, lastAt = c.Seq, c.TxAt
			if keep {
				batch.Changes = append(batch.Changes, c)
			}
		}
		return rows.Err()
	})
	return batch, wrap("read shippable changes", err)
}

// inReadSnapshot runs fn in a read-only transaction that sees one
// snapshot throughout (REPEATABLE READ on PostgreSQL; SQLite's read
// transactions always do).
func (db *DB) inReadSnapshot(ctx context.Context, fn func(tx *sql.Tx) error) error {
	opts := &sql.TxOptions{ReadOnly: true}
	if db.Engine == Postgres {
		opts.Isolation = sql.LevelRepeatableRead
	}
	tx, err := db.sql.BeginTx(ctx, opts)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // read only
	return fn(tx)
}

// ChangedRestaurants lists the restaurants with changes after a cut
// (PostgreSQL: changed_at after cut.At), every restaurant with changes when
// since is the zero cut. On SQLite, whatever the cut: the restaurants whose
// newest change is numbered above their last segment's.
//
// Both ask each restaurant with one probe of the log's index, never read
// the log itself: a restaurant's log is deleted with it, so every
// restaurant with changes is in restaurants. (An index on changed_at alone
// would answer PostgreSQL's question in one range scan, but every logged
// row would write it.)
func (db *DB) ChangedRestaurants(ctx context.Context, since LogCut) ([]string, error) {
	var q string
	var args []any
	switch {
	case db.Engine == SQLite:
		// The log's key is (restaurant_id, id): one seek finds the next
		// restaurant, one its newest change, one its last segment. A few
		// seeks per restaurant, never a read of the log.
		q = `WITH RECURSIVE r(id) AS (
			SELECT (SELECT restaurant_id FROM tenant_changes ORDER BY restaurant_id LIMIT 1)
			UNION ALL
			SELECT (SELECT restaurant_id FROM tenant_changes WHERE restaurant_id > r.id ORDER BY restaurant_id LIMIT 1) FROM r WHERE r.id IS NOT NULL)
		SELECT id FROM r WHERE id IS NOT NULL
			AND (SELECT c.id FROM tenant_changes c WHERE c.restaurant_id = r.id ORDER BY c.id DESC LIMIT 1)
				> COALESCE((SELECT s.max_seq FROM change_segments s WHERE s.restaurant_id = r.id ORDER BY s.number DESC LIMIT 1), 0)`
	case since.At.IsZero():
		q = `SELECT r.id FROM restaurants r WHERE EXISTS (SELECT 1 FROM tenant_changes c WHERE c.restaurant_id = r.id) ORDER BY r.id`
	default:
		// On (restaurant_id, changed_at): one descent per restaurant.
		q, args = `SELECT r.id FROM restaurants r
			WHERE EXISTS (SELECT 1 FROM tenant_changes c WHERE c.restaurant_id = r.id AND c.changed_at > $1) ORDER BY r.id`, []any{since.At}
	}
	ids, err := db.strings(ctx, q, args...)
	return ids, wrap("changed restaurants", err)
}

// ShippedSegment is the bookkeeping of one segment shipped.
type ShippedSegment struct {
	RestaurantID string
	Number       int64
	CoversFrom   time.Time
	CoversTo     time.Time
	// Floor is where the next segment reads the log from (PostgreSQL).
	Floor    time.Time
	FirstSeq int64
	LastSeq  int64
	// MaxTx and MaxSeq are the largest transaction id and seq of this
	// segment and every earlier one.
	MaxTx     string
	MaxSeq    int64
	Changes   int
	SHA256    string
	Size      int64
	ShippedAt time.Time
	// More says the segment stopped at its size limit: the restaurant has
	// more to ship at once.
	More bool
}

const segmentColumns = `restaurant_id, number, covers_from, covers_to, scan_floor, first_seq, last_seq, max_tx, max_seq, changes, sha256, size, shipped_at, more`

func scanSegment(sc interface{ Scan(...any) error }) (ShippedSegment, error) {
	var s ShippedSegment
	var from nullTime
	err := sc.Scan(&s.RestaurantID, &s.Number, &from, &s.CoversTo, &s.Floor, &s.FirstSeq, &s.LastSeq, &s.MaxTx, &s.MaxSeq, &s.Changes, &s.SHA256, &s.Size, &s.ShippedAt, &s.More)
	s.CoversFrom = from.Time
	s.CoversTo, s.Floor, s.ShippedAt = s.CoversTo.UTC(), s.Floor.UTC(), s.ShippedAt.UTC()
	return s, err
}

// RecordSegment records a segment after it was stored. A segment of the
// same number recorded already is a conflict: numbers are recorded once.
func (db *DB) RecordSegment(ctx context.Context, s ShippedSegment) error {
	var from any
	if !s.CoversFrom.IsZero() {
		from = s.CoversFrom
	}
	_, err := db.sql.ExecContext(ctx, `INSERT INTO change_segments (`+segmentColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		s.RestaurantID, s.Number, from, s.CoversTo, s.Floor, s.FirstSeq, s.LastSeq, s.MaxTx, s.MaxSeq, s.Changes, s.SHA256, s.Size, s.ShippedAt, s.More)
	if err != nil && db.dialect.classify(err) == failUnique {
		return fmt.Errorf("store: segment %d of restaurant %s is recorded already: %w", s.Number, s.RestaurantID, ErrSegmentRecorded)
	}
	return wrap("record segment", err)
}

// ErrSegmentRecorded is a segment number recorded twice.
var ErrSegmentRecorded = errors.New("segment number recorded already")

// LastSegment returns a restaurant's newest recorded segment, ok false
// when none is.
func (db *DB) LastSegment(ctx context.Context, restaurantID string) (ShippedSegment, bool, error) {
	s, err := scanSegment(db.sql.QueryRowContext(ctx, `SELECT `+segmentColumns+` FROM change_segments
		WHERE restaurant_id = $1 ORDER BY number DESC LIMIT 1`, restaurantID))
	if errors.Is(err, sql.ErrNoRows) {
		return ShippedSegment{}, false, nil
	}
	return s, err == nil, wrap("last segment", err)
}

// Segments returns a restaurant's recorded segments, oldest first; of
// every restaurant when restaurantID is empty.
func (db *DB) Segments(ctx context.Context, restaurantID string) ([]ShippedSegment, error) {
	q := `SELECT ` + segmentColumns + ` FROM change_segments WHERE restaurant_id = $1 ORDER BY number`
	args := []any{restaurantID}
	if restaurantID == "" {
		q, args = `SELECT `+segmentColumns+` FROM change_segments ORDER BY restaurant_id, number`, nil
	}
	rows, err := db.sql.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, wrap("segments", err)
	}
	defer rows.Close()
	var out []ShippedSegment
	for rows.Next() {
		s, err := scanSegment(rows)
		if err != nil {
			return nil, wrap("segments", err)
		}
		out = append(out, s)
	}
	return out, wrap("segments", rows.Err())
}

// PendingSegments lists the restaurants whose last segment stopped at
// its size limit.
func (db *DB) PendingSegments(ctx context.Context) ([]string, error) {
	ids, err := db.strings(ctx, `SELECT s.restaurant_id FROM change_segments s WHERE s.more
		AND s.number = (SELECT max(number) FROM change_segments m WHERE m.restaurant_id = s.restaurant_id)`)
	return ids, wrap("pending segments", err)
}

// ForgetSegments deletes the bookkeeping of a restaurant's segments up to
// number (they were deleted from storage with the backups they served).
func (db *DB) ForgetSegments(ctx context.Context, restaurantID string, upTo int64) error {
	_, err := db.sql.ExecContext(ctx, `DELETE FROM change_segments WHERE restaurant_id = $1 AND number <= $2`, restaurantID, upTo)
	return wrap("forget segments", err)
}

// ShipState is how far shipping got across every restaurant: every change
// up to Cut is shipped (or was not complete then and shipped after).
type ShipState struct {
	Cut       LogCut
	ShippedAt time.Time
}

// ChangeShipState reads the shipper's cursor (the zero state before the
// first run).
func (db *DB) ChangeShipState(ctx context.Context) (ShipState, error) {
	var st ShipState
	var at, shipped nullTime
	err := db.sql.QueryRowContext(ctx, `SELECT cut_at, cut_seq, shipped_at FROM change_shipping WHERE id = 1`).Scan(&at, &st.Cut.Seq, &shipped)
	if errors.Is(err, sql.ErrNoRows) {
		return st, nil
	}
	st.Cut.At, st.ShippedAt = at.Time.UTC(), shipped.Time.UTC()
	return st, wrap("change ship state", err)
}

// SetChangeShipState records that every restaurant is shipped up to cut.
func (db *DB) SetChangeShipState(ctx context.Context, st ShipState) error {
	var at any
	if !st.Cut.At.IsZero() {
		at = st.Cut.At
	}
	_, err := db.sql.ExecContext(ctx, `INSERT INTO change_shipping (id, cut_at, cut_seq, shipped_at) VALUES (1, $1, $2, $3)
		ON CONFLICT (id) DO UPDATE SET cut_at = excluded.cut_at, cut_seq = excluded.cut_seq, shipped_at = excluded.shipped_at`, at, st.Cut.Seq, st.ShippedAt)
	return wrap("set change ship state", err)
}

// scanShipped reads one change row (id, tx, changed_at, table_name, op,
// row_data, old_data) as ChangesSince gives it: images in archive form, an
// update's Old holding only the columns it changed. keep is false for an
// update that changed nothing (SQLite logs a row rewritten the same).
func scanShipped(ctx context.Context, conv *changeConverter, rows *sql.Rows, restaurantID string) (Change, bool, error) {
	c := Change{RestaurantID: restaurantID}
	var at any
	var row string
	var old sql.NullString
	if err := rows.Scan(&c.Seq, &c.Tx, &at, &c.Table, &c.Op, &row, &old); err != nil {
		return c, false, err
	}
	var err error
	if c.TxAt, err = logTime(at); err != nil {
		return c, false, fmt.Errorf("change %d: %w", c.Seq, err)
	}
	if c.Op == OpImport {
		c.Row = map[string]any{}
		return c, true, nil
	}
	if c.Row, err = conv.archiveForm(ctx, c.Table, row); err != nil {
		return c, false, fmt.Errorf("change %d: %w", c.Seq, err)
	}
	if old.Valid && c.Op == OpUpdate {
		all, err := conv.archiveForm(ctx, c.Table, old.String)
		if err != nil {
			return c, false, fmt.Errorf("change %d: %w", c.Seq, err)
		}
		c.Old = map[string]any{}
		for k, v := range all {
			if nv, ok := c.Row[k]; !ok || !sameValue(nv, v) {
				c.Old[k] = v
			}
		}
		if len(c.Old) == 0 {
			return c, false, nil
		}
	}
	return c, true, nil
}

// OpImport marks, in the log, a restore or import of the restaurant: its
// writes are not logged, so the log cannot be replayed across it.
const OpImport ChangeOp = "import"
