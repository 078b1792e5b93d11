package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
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

// pairPage is how many rows of each side EachTenantRowPair reads at a time.
const pairPage = 500

// EachTenantRowPair streams the rows of table of tenants a and b side by
// side, each ordered by id, and calls fn with the column names and one row
// of each (nil once that side has ended), values as TenantRows gives them.
//
// It reads both sides on one connection, in one snapshot, a page of each in
// turn (the rows after the last id read): a caller holding one connection
// never waits for a second, and at most a page of each side is held,
// whatever the tenants' size.
func (db *DB) EachTenantRowPair(ctx context.Context, table, a, b string, fn func(cols []string, ra, rb []any) error) error {
	if !IsCopyTable(table) {
		return fmt.Errorf("store: %s is not a tenant table", table)
	}
	first := `SELECT * FROM ` + table + ` WHERE ` + tenantKey(table) + ` = $1 ORDER BY id LIMIT ` + strconv.Itoa(pairPage)
	after := `SELECT * FROM ` + table + ` WHERE ` + tenantKey(table) + ` = $1 AND id > $2 ORDER BY id LIMIT ` + strconv.Itoa(pairPage)
	return db.inReadSnapshot(ctx, func(tx *sql.Tx) error {
		sides := [2]*pairSide{{rid: a}, {rid: b}}
		for _, s := range sides {
			s.first, s.after = first, after
		}
		for {
			ra, err := sides[0].next(ctx, tx)
			if err != nil {
				return fmt.Errorf("store: read %s: %w", table, err)
			}
			rb, err := sides[1].next(ctx, tx)
			if err != nil {
				return fmt.Errorf("store: read %s: %w", table, err)
			}
			if ra == nil && rb == nil {
				return nil
			}
			cols := sides[0].cols
			if cols == nil {
				cols = sides[1].cols
			}
			if err := fn(cols, ra, rb); err != nil {
				return err
			}
		}
	})
}

// pairSide is one tenant's rows in EachTenantRowPair: the page read last
// and where the next one starts.
type pairSide struct {
	rid          string
	first, after string
	cols         []string
	page         [][]any
	lastID       any // the id of the page's last row, as the driver gave it
	ended        bool
}

// next returns the side's next row, nil once it has ended.
func (s *pairSide) next(ctx context.Context, tx *sql.Tx) ([]any, error) {
	if len(s.page) == 0 && !s.ended {
		if err := s.read(ctx, tx); err != nil {
			return nil, err
		}
	}
	if len(s.page) == 0 {
		return nil, nil
	}
	row := s.page[0]
	s.page = s.page[1:]
	return row, nil
}

func (s *pairSide) read(ctx context.Context, tx *sql.Tx) error {
	var rows *sql.Rows
	var err error
	if s.lastID == nil {
		rows, err = tx.QueryContext(ctx, s.first, s.rid)
	} else {
		rows, err = tx.QueryContext(ctx, s.after, s.rid, s.lastID)
	}
	if err != nil {
		return err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return err
	}
	s.cols = cols
	idCol := slices.Index(cols, "id")
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		s.lastID = vals[idCol]
		for i := range vals {
			vals[i] = normalize(vals[i])
		}
		s.page = append(s.page, vals)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	s.ended = len(s.page) < pairPage
	return nil
}
