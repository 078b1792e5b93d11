package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/shimizu-tech/ordersuite/internal/apperr"
)

// replayBatchParams bounds the parameters of one multi-row statement of a
// set-based replay (PostgreSQL allows 65535, SQLite 32766).
const (
	replayBatchParams = 30000
	replayBatchRows   = 500
)

// replayRow is what a replay leaves of one row (table, primary key): its
// final state after every change in the span.
type replayRow struct {
	id any
	// deleted: the row was deleted at some point in the span, so it is
	// deleted first (a row inserted again after its delete starts from its
	// column defaults, as the delete and insert did).
	deleted bool
	// row holds the converted values of the inserts and updates since the
	// last delete, later ones over earlier ones (each wrote the columns it
	// held); nil when the row's last change is a delete.
	row map[string]any
}

// replayTable is the collapsed changes of one table, rows in the order
// their first change came.
type replayTable struct {
	*changeTable
	keys []string
	rows map[string]*replayRow
}

// replayFallbacks counts the set-based replays that failed and were
// replayed change by change.
var replayFallbacks atomic.Int64

// changeReplay is a span of changes collapsed to each row's last state.
// Memory: one entry per changed row (not per change), plus the restaurant
// row's merged columns.
type changeReplay struct {
	tables     map[string]*replayTable
	restaurant map[string]any
	restCols   []Column
	// counters are the highest numbers of the orders and reservations
	// replayed, by kind and day: the values the day's counters had
	// reached (their updates are not logged, see CaptureWithoutUpdates).
	counters map[counterDay]int64
}

// counterDay is a number counter's key within a restaurant.
type counterDay struct{ kind, day string }

// applyChanges replays changes inside an import's transaction, onto the
// target restaurant, set-based: the changes (in replay order) are
// collapsed to each row's last state, keyed by (table, primary key) and
// validated as they come (unknown table or column, values of the wrong
// type: the error names the change). Then the rows that end deleted, or
// were deleted and inserted again, are deleted in batches, children first
// (TenantTables reversed); then the rows that end present are upserted in
// batches, parents first (TenantTables order). The state at the end of the
// span is a real historical state, so it satisfies every constraint; only
// a transient conflict inside a batch (two rows exchanging a unique value,
// a row referring to one of its own table written later) can fail a
// statement. Any failure of the set-based writes rolls back to a savepoint
// taken before them and the span is replayed again change by change, in
// order (applyChangesInOrder), which either succeeds or fails naming the
// change as before. The restaurant row follows restoreRestaurantRow's rules.
//
// Last, the number counters the replayed orders and reservations took
// their numbers from are set to the highest of those numbers
// (rebuildCounters): the log holds a counter's insert, not its updates.
func (db *DB) applyChanges(ctx context.Context, tx *sql.Tx, spec ImportSpec, meter *CopyMeter) (int64, error) {
	rp, n, err := db.collapseChanges(ctx, tx, spec, meter)
	if err != nil {
		return n, err
	}
	if _, err := tx.ExecContext(ctx, `SAVEPOINT replay_set`); err != nil {
		return n, fmt.Errorf("store: replay: %w", err)
	}
	werr := db.writeReplay(ctx, tx, spec, rp)
	if werr == nil {
		if _, err := tx.ExecContext(ctx, `RELEASE SAVEPOINT replay_set`); err != nil {
			return n, fmt.Errorf("store: replay: %w", err)
		}
	} else {
		if ctx.Err() != nil {
			return n, werr
		}
		if _, err := tx.ExecContext(ctx, `ROLLBACK TO SAVEPOINT replay_set`); err != nil {
			return n, fmt.Errorf("store: replay: %w (after %v)", err, werr)
		}
		replayFallbacks.Add(1)
		if _, err := db.applyChangesInOrder(ctx, tx, spec, nil); err != nil {
			return n, err
		}
	}
	return n, db.rebuildCounters(ctx, tx, spec.TargetID, rp.counters)
}

// counterKinds are the tables whose rows are numbered from number_counters,
// with the kind of their numbers.
var counterKinds = map[string]string{"orders": "O", "reservations": "R"}

// numberCounter reads the counter a document number was taken from, as
// ordering.Number writes it (<prefix>-<kind>-<YYMMDD><seq>, the day in
// UTC): its kind, day (YYYY-MM-DD, the counter's) and the value it had
// reached. The prefix may hold dashes; the number is read from its end.
func numberCounter(number string) (counterDay, int64, bool) {
	parts := strings.Split(number, "-")
	if len(parts) < 3 {
		return counterDay{}, 0, false
	}
	kind, digits := parts[len(parts)-2], parts[len(parts)-1]
	if len(digits) < 9 || strings.Trim(digits, "0123456789") != "" {
		return counterDay{}, 0, false
	}
	seq, err := strconv.ParseInt(digits[6:], 10, 64)
	if err != nil {
		return counterDay{}, 0, false
	}
	return counterDay{kind: kind, day: "20" + digits[0:2] + "-" + digits[2:4] + "-" + digits[4:6]}, seq, true
}

// noteNumber keeps the highest number of a replayed order or reservation
// per counter.
func (rp *changeReplay) noteNumber(c Change) {
	kind, ok := counterKinds[c.Table]
	if !ok || (c.Op != OpInsert && c.Op != OpUpdate) {
		return
	}
	number, _ := c.Row["number"].(string)
	key, seq, ok := numberCounter(number)
	if !ok || key.kind != kind {
		return
	}
	if rp.counters == nil {
		rp.counters = map[counterDay]int64{}
	}
	rp.counters[key] = max(rp.counters[key], seq)
}

// rebuildCounters sets each counter to at least the highest number a
// replay wrote from it. A counter's value is the count of numbers it gave
// out, and every number given out is an order's or a reservation's (a
// refused one takes none; a rolled back one gives its number back), so
// this is the value it had at the end of the replayed span: the next order
// after a restore gets the next number, with no gap and no duplicate. A
// counter missing (its insert neither in the base nor in the span) is
// made.
func (db *DB) rebuildCounters(ctx context.Context, tx *sql.Tx, rid string, counters map[counterDay]int64) error {
	keys := make([]counterDay, 0, len(counters))
	for k := range counters {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b counterDay) int { return strings.Compare(a.kind+a.day, b.kind+b.day) })
	for _, k := range keys {
		v := counters[k]
		res, err := tx.ExecContext(ctx, `UPDATE number_counters SET value = $1
			WHERE restaurant_id = $2 AND kind = $3 AND day = $4 AND value < $1`, v, rid, k.kind, k.day)
		if err != nil {
			return fmt.Errorf("store: replay: rebuild the %s counter of %s: %w", k.kind, k.day, err)
		}
		if n, _ := res.RowsAffected(); n > 0 {
			continue
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO number_counters (restaurant_id, id, kind, day, value) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (restaurant_id, kind, day) DO NOTHING`, rid, NewID(), k.kind, k.day, v); err != nil {
			return fmt.Errorf("store: replay: rebuild the %s counter of %s: %w", k.kind, k.day, err)
		}
	}
	return nil
}

// collapseChanges reads and validates the span, keeping each row's last
// state.
func (db *DB) collapseChanges(ctx context.Context, tx *sql.Tx, spec ImportSpec, meter *CopyMeter) (*changeReplay, int64, error) {
	rp := &changeReplay{tables: map[string]*replayTable{}}
	schema := newChangeSchema(db, tx)
	var n int64
	err := spec.Changes(ctx, func(c Change) error {
		ct, err := schema.check(ctx, c)
		if err != nil {
			return err
		}
		rt := rp.tables[c.Table]
		if rt == nil {
			rt = &replayTable{changeTable: ct, rows: map[string]*replayRow{}}
			rp.tables[c.Table] = rt
		}
		n++
		meter.Row()
		value := func(col Column) (any, error) { return changeValue(c, col) }
		if c.Table == "restaurants" {
			if c.Op == OpDelete {
				return nil
			}
			if rp.restaurant == nil {
				rp.restaurant, rp.restCols = map[string]any{}, rt.cols
			}
			for _, col := range rt.cols {
				if _, present := c.Row[col.Name]; !present || col.Name == "id" || (spec.Replace && restaurantKept[col.Name]) {
					continue
				}
				if col.Name == "name" && spec.NewName != "" {
					rp.restaurant[col.Name] = spec.NewName
					continue
				}
				v, err := value(col)
				if err != nil {
					return err
				}
				rp.restaurant[col.Name] = v
			}
			return nil
		}
		if c.Op != OpDelete && c.Op != OpInsert && c.Op != OpUpdate {
			return apperr.Errorf(apperr.Invalid, "change %d: unknown operation %q", c.Seq, c.Op)
		}
		rp.noteNumber(c)
		id, err := value(rt.types["id"])
		if err != nil {
			return err
		}
		key := "<nil>"
		if id != nil {
			key = fmt.Sprintf("%T:%v", id, id)
		}
		r := rt.rows[key]
		if r == nil {
			r = &replayRow{id: id}
			rt.rows[key] = r
			rt.keys = append(rt.keys, key)
		}
		if c.Op == OpDelete {
			r.deleted, r.row = true, nil
			return nil
		}
		if r.row == nil {
			r.row = map[string]any{}
		}
		for _, col := range rt.cols {
			if _, present := c.Row[col.Name]; !present || col.Name == "restaurant_id" {
				continue
			}
			v, err := value(col)
			if err != nil {
				return err
			}
			r.row[col.Name] = v
		}
		return nil
	})
	return rp, n, err
}

// replayOrder is the tables of a replay, parents first: TenantTables order,
// any other table after them by name.
func replayOrder(rp *changeReplay) []string {
	var order, rest []string
	for _, t := range TenantTables {
		if rp.tables[t] != nil {
			order = append(order, t)
		}
	}
	for t := range rp.tables {
		if t != "restaurants" && !slices.Contains(order, t) {
			rest = append(rest, t)
		}
	}
	slices.Sort(rest)
	return append(order, rest...)
}

// writeReplay writes a collapsed span: the restaurant row, deletes
// children first, then upserts parents first.
func (db *DB) writeReplay(ctx context.Context, tx *sql.Tx, spec ImportSpec, rp *changeReplay) error {
	if len(rp.restaurant) > 0 {
		var sets []string
		var args []any
		for _, col := range rp.restCols {
			v, ok := rp.restaurant[col.Name]
			if !ok {
				continue
			}
			args = append(args, v)
			sets = append(sets, quoteIdent(col.Name)+" = $"+strconv.Itoa(len(args)))
		}
		args = append(args, spec.TargetID)
		if _, err := tx.ExecContext(ctx, `UPDATE restaurants SET `+strings.Join(sets, ", ")+` WHERE id = $`+strconv.Itoa(len(args)), args...); err != nil {
			return fmt.Errorf("store: replay changes to restaurants: %w", err)
		}
	}
	order := replayOrder(rp)
	for i := len(order) - 1; i >= 0; i-- {
		table := order[i]
		rt := rp.tables[table]
		var ids []any
		flush := func() error {
			if len(ids) == 0 {
				return nil
			}
			params := make([]string, len(ids))
			for j := range ids {
				params[j] = "$" + strconv.Itoa(j+2)
			}
			// Table names come from the fixed tenant table list, never input.
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE restaurant_id = $1 AND id IN (`+strings.Join(params, ", ")+`)`,
				append([]any{spec.TargetID}, ids...)...); err != nil {
				return fmt.Errorf("store: replay deletes from %s: %w", table, err)
			}
			ids = ids[:0]
			return nil
		}
		for _, key := range rt.keys {
			if r := rt.rows[key]; r.deleted && r.id != nil {
				ids = append(ids, r.id)
				if len(ids) == replayBatchRows {
					if err := flush(); err != nil {
						return err
					}
				}
			}
		}
		if err := flush(); err != nil {
			return err
		}
	}
	for _, table := range order {
		if err := db.upsertReplayed(ctx, tx, spec, table, rp.tables[table]); err != nil {
			return err
		}
	}
	return nil
}

// upsertReplayed upserts the rows of one table that end present, in
// multi-row statements; rows writing the same columns share a statement.
func (db *DB) upsertReplayed(ctx context.Context, tx *sql.Tx, spec ImportSpec, table string, rt *replayTable) error {
	type batch struct {
		cols []Column
		rows []*replayRow
	}
	var pending *batch
	flush := func() error {
		if pending == nil || len(pending.rows) == 0 {
			return nil
		}
		names := []string{"restaurant_id"}
		var sets []string
		for _, col := range pending.cols {
			names = append(names, quoteIdent(col.Name))
			if col.Name != "id" {
				sets = append(sets, quoteIdent(col.Name)+" = excluded."+quoteIdent(col.Name))
			}
		}
		var q strings.Builder
		q.WriteString(`INSERT INTO ` + table + ` (` + strings.Join(names, ", ") + `) VALUES `)
		args := make([]any, 0, len(pending.rows)*len(names))
		for i, r := range pending.rows {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteByte('(')
			args = append(args, spec.TargetID)
			q.WriteString("$" + strconv.Itoa(len(args)))
			for _, col := range pending.cols {
				args = append(args, r.row[col.Name])
				q.WriteString(", $" + strconv.Itoa(len(args)))
			}
			q.WriteByte(')')
		}
		q.WriteString(` ON CONFLICT (restaurant_id, id) DO `)
		if len(sets) == 0 {
			q.WriteString(`NOTHING`)
		} else {
			q.WriteString(`UPDATE SET ` + strings.Join(sets, ", "))
		}
		if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
			return fmt.Errorf("store: replay upserts into %s: %w", table, err)
		}
		pending.rows = pending.rows[:0]
		return nil
	}
	for _, key := range rt.keys {
		r := rt.rows[key]
		if r.row == nil {
			continue
		}
		var cols []Column
		for _, col := range rt.cols {
			if _, ok := r.row[col.Name]; ok {
				cols = append(cols, col)
			}
		}
		if pending == nil || !slices.EqualFunc(cols, pending.cols, func(a, b Column) bool { return a.Name == b.Name }) {
			if err := flush(); err != nil {
				return err
			}
			pending = &batch{cols: cols}
		}
		pending.rows = append(pending.rows, r)
		if len(pending.rows) >= replayBatchRows || (len(pending.rows)+1)*(len(cols)+1) > replayBatchParams {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}
