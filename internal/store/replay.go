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
}

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
		return n, nil
	}
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
	return n, nil
}

// collapseChanges reads and validates the span, keeping each row's last
// state.
func (db *DB) collapseChanges(ctx context.Context, tx *sql.Tx, spec ImportSpec, meter *CopyMeter) (*changeReplay, int64, error) {
	rp := &changeReplay{tables: map[string]*replayTable{}}
	schema := newChangeSchema(db, tx)
	var n int64
	err := spec.Changes(func(c Change) error {
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
