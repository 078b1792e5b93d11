package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"
)

// TenantRows returns every row a tenant has in one tenant table, ordered by
// id, each as column → value. Comparing two dumps tells whether a tenant's
// data changed (isolation tests) or survived a round trip (drills).
func (db *DB) TenantRows(ctx context.Context, table, restaurantID string) ([]map[string]any, error) {
	if !slices.Contains(TenantTables, table) && table != "restaurants" {
		return nil, fmt.Errorf("store: %s is not a tenant table", table)
	}
	key := "restaurant_id"
	if table == "restaurants" {
		key = "id"
	}
	rows, err := db.sql.QueryContext(ctx, `SELECT * FROM `+table+` WHERE `+key+` = $1 ORDER BY id`, restaurantID)
	if err != nil {
		return nil, fmt.Errorf("store: dump %s: %w", table, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var out []map[string]any
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, fmt.Errorf("store: dump %s: %w", table, err)
		}
		row := make(map[string]any, len(cols))
		for i, c := range cols {
			row[c] = normalize(vals[i])
		}
		out = append(out, row)
	}
	return out, rows.Err()
}

// normalize makes values from either engine comparable.
func normalize(v any) any {
	switch x := v.(type) {
	case []byte:
		return string(x)
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case int32:
		return int64(x)
	case [16]byte: // a PostgreSQL uuid scanned without a target type
		return fmt.Sprintf("%x-%x-%x-%x-%x", x[0:4], x[4:6], x[6:8], x[8:10], x[10:16])
	}
	return v
}

// EachTenantRowPair streams the rows of table of tenants a and b side by
// side, each ordered by id, and calls fn with the column names and one row
// of each (nil once that side has ended), values as TenantRows gives them.
// Only the two current rows are held, whatever the tenants' size.
func (db *DB) EachTenantRowPair(ctx context.Context, table, a, b string, fn func(cols []string, ra, rb []any) error) error {
	if !IsCopyTable(table) {
		return fmt.Errorf("store: %s is not a tenant table", table)
	}
	open := func(rid string) (*sql.Rows, []string, error) {
		rows, err := db.sql.QueryContext(ctx, `SELECT * FROM `+table+` WHERE `+tenantKey(table)+` = $1 ORDER BY id`, rid)
		if err != nil {
			return nil, nil, fmt.Errorf("store: read %s: %w", table, err)
		}
		cols, err := rows.Columns()
		if err != nil {
			rows.Close()
			return nil, nil, err
		}
		return rows, cols, nil
	}
	rowsA, cols, err := open(a)
	if err != nil {
		return err
	}
	defer rowsA.Close()
	rowsB, _, err := open(b)
	if err != nil {
		return err
	}
	defer rowsB.Close()
	next := func(rows *sql.Rows, vals []any) ([]any, error) {
		if !rows.Next() {
			return nil, rows.Err()
		}
		ptrs := make([]any, len(vals))
		for i := range vals {
			vals[i] = nil
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, fmt.Errorf("store: read %s: %w", table, err)
		}
		for i := range vals {
			vals[i] = normalize(vals[i])
		}
		return vals, nil
	}
	bufA, bufB := make([]any, len(cols)), make([]any, len(cols))
	for {
		ra, err := next(rowsA, bufA)
		if err != nil {
			return err
		}
		rb, err := next(rowsB, bufB)
		if err != nil {
			return err
		}
		if ra == nil && rb == nil {
			return nil
		}
		if err := fn(cols, ra, rb); err != nil {
			return err
		}
	}
}
