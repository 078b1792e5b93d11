package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/apperr"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(...any) error }

// Entity maps one tenant table to its domain type, so the plain create,
// read, update, delete and list of every model share one tested path and
// every query filters on the tenant.
type Entity[T any] struct {
	table    string
	what     string   // in messages: "menu item"
	resource string   // in the audit log: "menu_item"
	columns  []string // written by insert and update, in values order
	extra    []string // read after columns, written only by their own queries
	scan     func(sc scanner) (T, error)
	values   func(v *T) []any // in column order
	id       func(v *T) string
	touch    func(v *T, now time.Time, creating bool)
	refs     func(v *T) []ref // references to check inside the tenant
	order    string
	filter   reflect.Type // the entity's filter struct (see filters.go); nil when lists take none
	// owner is the column naming the customer a row belongs to. A guest
	// (a caller of role customer) reads only the rows whose owner is their
	// own customer record; other rows are not found.
	owner string
}

// ref is a reference a row makes to another tenant row; it is checked inside
// the tenant so a foreign or unknown id is "not found", naming the field.
type ref struct {
	field, table, what, id string
}

// ListQuery selects a page of a list.
type ListQuery struct {
	// Filter is the entity's filter struct (OrderFilter for Orders, …), or
	// nil for every row.
	Filter any
	Limit  int
	Offset int
}

func (e *Entity[T]) cols() string {
	return strings.Join(append(e.columns[:len(e.columns):len(e.columns)], e.extra...), ", ")
}

// get reads one row of the tenant; lock is the dialect's lockClause when
// the row will be written back in the same transaction, else empty.
func (e *Entity[T]) get(ctx context.Context, q queryer, rid, id string, lock string) (T, error) {
	return e.getWhere(ctx, q, rid, id, "", nil, lock)
}

// visible reads one row of the tenant that the caller may see: a guest
// only their own.
func (e *Entity[T]) visible(ctx context.Context, q queryer, rid, id string) (T, error) {
	cond, args := e.guestScope(ctx, 3)
	return e.getWhere(ctx, q, rid, id, cond, args, "")
}

func (e *Entity[T]) getWhere(ctx context.Context, q queryer, rid, id, cond string, args []any, lock string) (T, error) {
	var zero T
	if !ValidID(id) {
		return zero, apperr.Errorf(apperr.NotFound, "%s not found", e.what)
	}
	query := `SELECT ` + e.cols() + ` FROM ` + e.table + ` WHERE restaurant_id = $1 AND id = $2` + cond + lock
	v, err := e.scan(q.QueryRowContext(ctx, query, append([]any{rid, id}, args...)...))
	if err != nil {
		return zero, notFound(err, e.what)
	}
	return v, nil
}

// guestScope returns the condition that confines the entity's rows to the
// calling guest's own, its one argument bound as placeholder n; nothing
// when the caller is not a guest or the rows belong to no customer. The
// guest's customer record is found inside the query, from the user id in
// the context, so the rule costs no extra round trip. A guest without a
// customer record yet owns nothing.
func (e *Entity[T]) guestScope(ctx context.Context, n int) (string, []any) {
	if e.owner == "" {
		return "", nil
	}
	p, ok := tenancy.PrincipalFrom(ctx)
	if !ok || p.Role != tenancy.Customer {
		return "", nil
	}
	return fmt.Sprintf(` AND %s = (SELECT id FROM customers WHERE restaurant_id = $1 AND user_id = $%d)`, e.owner, n),
		[]any{p.UserID}
}

// lock returns the clause that locks selected rows the transaction will
// write back (empty where the transaction already holds the lock).
func (db *DB) lock() string { return db.dialect.lockClause() }

func (e *Entity[T]) insert(ctx context.Context, db *DB, q queryer, rid string, v *T) error {
	ph := make([]string, len(e.columns)+1)
	for i := range ph {
		ph[i] = fmt.Sprintf("$%d", i+1)
	}
	_, err := q.ExecContext(ctx, `INSERT INTO `+e.table+` (restaurant_id, `+strings.Join(e.columns, ", ")+`) VALUES (`+strings.Join(ph, ", ")+`)`,
		append([]any{rid}, e.values(v)...)...)
	return db.dbError(err, "create", e.what)
}

func (e *Entity[T]) update(ctx context.Context, db *DB, q queryer, rid string, v *T) error {
	vals := e.values(v)
	var sets []string
	args := []any{rid, e.id(v)}
	for i, c := range e.columns {
		if c == "id" || c == "created_at" {
			continue
		}
		args = append(args, vals[i])
		sets = append(sets, fmt.Sprintf("%s = $%d", c, len(args)))
	}
	res, err := q.ExecContext(ctx, `UPDATE `+e.table+` SET `+strings.Join(sets, ", ")+` WHERE restaurant_id = $1 AND id = $2`, args...)
	if err != nil {
		return db.dbError(err, "update", e.what)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return apperr.Errorf(apperr.NotFound, "%s not found", e.what)
	}
	return nil
}

func (e *Entity[T]) checkRefs(ctx context.Context, q queryer, rid string, v *T) error {
	if e.refs == nil {
		return nil
	}
	for _, r := range e.refs(v) {
		if r.id == "" {
			continue
		}
		if err := checkRef(ctx, q, rid, r); err != nil {
			return err
		}
	}
	return nil
}

// checkRef confirms that r names a row of the tenant. Another tenant's id is
// indistinguishable from an unknown one.
func checkRef(ctx context.Context, q queryer, rid string, r ref) error {
	missing := &apperr.Error{Code: apperr.NotFound, Message: r.what + " not found", Field: r.field}
	if !ValidID(r.id) {
		return missing
	}
	var one int
	err := q.QueryRowContext(ctx, `SELECT 1 FROM `+r.table+` WHERE restaurant_id = $1 AND id = $2`, rid, r.id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return missing
	}
	if err != nil {
		return fmt.Errorf("store: check %s: %w", r.what, err)
	}
	return nil
}

// list reads a page of the tenant's rows that the caller may see: a guest
// lists only their own, whatever owner the filters name.
func (e *Entity[T]) list(ctx context.Context, q queryer, rid string, lq ListQuery) ([]T, int, error) {
	where := ` WHERE restaurant_id = $1`
	args := []any{rid}
	guest, guestArgs := e.guestScope(ctx, 2)
	skip := ""
	if guest != "" {
		where += guest
		args = append(args, guestArgs...)
		skip = e.owner
	}
	conds, args, err := e.where(lq.Filter, args, skip)
	if err != nil {
		return nil, 0, err
	}
	where += conds
	var total int
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+e.table+where, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("store: count %s: %w", e.table, err)
	}
	if lq.Limit <= 0 {
		lq.Limit = 25
	}
	args = append(args, lq.Limit, lq.Offset)
	rows, err := q.QueryContext(ctx, fmt.Sprintf(`SELECT %s FROM %s%s ORDER BY %s LIMIT $%d OFFSET $%d`,
		e.cols(), e.table, where, e.order, len(args)-1, len(args)), args...)
	if err != nil {
		return nil, 0, fmt.Errorf("store: list %s: %w", e.table, err)
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := e.scan(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("store: list %s: %w", e.table, err)
		}
		out = append(out, v)
	}
	return out, total, rows.Err()
}

// Create inserts v for the tenant in ctx, audited.
// Errors: NotFound (Field: the reference) when a referenced row is not the
// tenant's; Conflict when a unique value is taken; Invalid when a value is
// out of range.
func Create[T any](ctx context.Context, db *DB, e *Entity[T], v T) (T, error) {
	rid, err := tenant(ctx)
	if err != nil {
		return v, err
	}
	e.touch(&v, db.Now(), true)
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		if err := e.checkRefs(ctx, tx, rid, &v); err != nil {
			return err
		}
		if err := e.insert(ctx, db, tx, rid, &v); err != nil {
			return err
		}
		return db.audit(ctx, tx, "create", e.resource, e.id(&v), nil, v)
	})
	return v, err
}

// Get reads the row id of the tenant in ctx. A guest gets only their own
// rows of an entity that belongs to customers.
// Errors: NotFound when the tenant has no such row the caller may see.
func Get[T any](ctx context.Context, db *DB, e *Entity[T], id string) (T, error) {
	rid, err := tenant(ctx)
	if err != nil {
		var zero T
		return zero, err
	}
	return e.visible(ctx, db.sql, rid, id)
}

// List reads a page of the tenant's rows matching lq's filters, with the
// number of all matching rows. A guest lists only their own rows of an
// entity that belongs to customers.
func List[T any](ctx context.Context, db *DB, e *Entity[T], lq ListQuery) ([]T, int, error) {
	rid, err := tenant(ctx)
	if err != nil {
		return nil, 0, err
	}
	return e.list(ctx, db.sql, rid, lq)
}

// Update reads the row under lock, lets change modify (and validate)
// it, and writes it back, audited with before and after.
// Errors: NotFound when the tenant has no such row, or (Field: the
// reference) when a referenced row is not the tenant's; Conflict when a
// unique value is taken; Invalid when a value is out of range; and
// whatever change returns.
func Update[T any](ctx context.Context, db *DB, e *Entity[T], id string, change func(v *T) error) (T, error) {
	var after T
	rid, err := tenant(ctx)
	if err != nil {
		return after, err
	}
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		before, err := e.get(ctx, tx, rid, id, db.lock())
		if err != nil {
			return err
		}
		after = before
		if err := change(&after); err != nil {
			return err
		}
		e.touch(&after, db.Now(), false)
		if err := e.checkRefs(ctx, tx, rid, &after); err != nil {
			return err
		}
		if err := e.update(ctx, db, tx, rid, &after); err != nil {
			return err
		}
		return db.audit(ctx, tx, "update", e.resource, id, before, after)
	})
	return after, err
}

// Delete removes the row id of the tenant in ctx, audited.
// Errors: NotFound when the tenant has no such row; Conflict while other
// records still reference it.
func Delete[T any](ctx context.Context, db *DB, e *Entity[T], id string) error {
	rid, err := tenant(ctx)
	if err != nil {
		return err
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		before, err := e.get(ctx, tx, rid, id, "")
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+e.table+` WHERE restaurant_id = $1 AND id = $2`, rid, id); err != nil {
			if db.failure(err) == failForeignKey {
				return apperr.Errorf(apperr.Conflict, "the %s is still referenced by other records", e.what)
			}
			return fmt.Errorf("store: delete %s: %w", e.what, err)
		}
		return db.audit(ctx, tx, "delete", e.resource, id, before, nil)
	})
}

// What names the entity's rows in messages ("menu item").
func (e *Entity[T]) What() string { return e.what }

// stamp sets a row's id and times: all on creation, updated_at on change.
func stamp(id *string, created, updated *time.Time, now time.Time, creating bool) {
	if creating {
		*id, *created = NewID(), now
	}
	*updated = now
}

// nullable stores an empty optional id as NULL.
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// nullInt stores a nil optional integer as NULL.
func nullInt(p *int) any {
	if p == nil {
		return nil
	}
	return int64(*p)
}

// nullTimePtr stores a nil optional time as NULL.
func nullTimePtr(p *time.Time) any {
	if p == nil {
		return nil
	}
	return p.UTC()
}

func intPtr(n sql.NullInt64) *int {
	if !n.Valid {
		return nil
	}
	v := int(n.Int64)
	return &v
}

func timePtr(t sql.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	v := t.Time.UTC()
	return &v
}

// utc puts scanned times in UTC.
func utc(ts ...*time.Time) {
	for _, t := range ts {
		*t = t.UTC()
	}
}
