package store

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/shimizu-tech/ordersuite/internal/apperr"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// Tenant copy: reading every row of one tenant from one consistent snapshot,
// and writing a tenant's rows back in one transaction. Backups, restores,
// clones and migrations are built on these two primitives; they work on
// whatever tables TenantTables lists, reading the columns from the catalog,
// so a table added later is copied without code changes.

// ColumnType is how a column's values travel in an archive.
type ColumnType string

const (
	TypeText  ColumnType = "text"  // strings, uuids and JSON documents (as their text)
	TypeInt   ColumnType = "int"   // JSON number
	TypeFloat ColumnType = "float" // JSON number
	TypeBool  ColumnType = "bool"  // JSON true/false
	TypeTime  ColumnType = "time"  // RFC 3339 string in UTC, microseconds
	TypeDate  ColumnType = "date"  // "2006-01-02"
	TypeBytes ColumnType = "bytes" // base64 string
)

// Column is one column of a copied table.
type Column struct {
	Name string
	Type ColumnType
}

// CopyTables is every table a tenant copy covers, restaurants first, then
// TenantTables in dependency order.
func CopyTables() []string { return append([]string{"restaurants"}, TenantTables...) }

// IsCopyTable reports whether table is part of a tenant copy.
func IsCopyTable(table string) bool { return slices.Contains(CopyTables(), table) }

func classify(declared string) ColumnType {
	d := strings.ToLower(declared)
	switch {
	case strings.Contains(d, "timestamp") || strings.Contains(d, "datetime"):
		return TypeTime
	case d == "date":
		return TypeDate
	case strings.Contains(d, "bool"):
		return TypeBool
	case strings.Contains(d, "int"):
		return TypeInt
	case strings.Contains(d, "real") || strings.Contains(d, "double") || strings.Contains(d, "float") ||
		strings.Contains(d, "numeric") || strings.Contains(d, "decimal"):
		return TypeFloat
	case strings.Contains(d, "bytea") || strings.Contains(d, "blob"):
		return TypeBytes
	}
	return TypeText
}

// Columns lists a copy table's columns in table order with their types.
func (db *DB) Columns(ctx context.Context, table string) ([]Column, error) {
	return db.columns(ctx, db.sql, table)
}

func (db *DB) columns(ctx context.Context, q queryer, table string) ([]Column, error) {
	if !IsCopyTable(table) {
		return nil, fmt.Errorf("store: %s is not a tenant table", table)
	}
	rows, err := q.QueryContext(ctx, db.dialect.columnsQuery(), table)
	if err != nil {
		return nil, fmt.Errorf("store: columns of %s: %w", table, err)
	}
	defer rows.Close()
	var out []Column
	for rows.Next() {
		var name, typ string
		if err := rows.Scan(&name, &typ); err != nil {
			return nil, err
		}
		out = append(out, Column{Name: name, Type: classify(typ)})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("store: table %s has no columns", table)
	}
	return out, rows.Err()
}

// tenantKey is the column holding the tenant in a copy table.
func tenantKey(table string) string {
	if table == "restaurants" {
		return "id"
	}
	return "restaurant_id"
}

// Snapshot reads one tenant from a consistent point in time.
type Snapshot struct {
	db           *DB
	q            queryer
	RestaurantID string
	// SchemaVersion is the migration version the snapshot was read at.
	SchemaVersion int64
}

// TenantSnapshot calls fn with a read-only view of restaurantID as of one
// instant: a REPEATABLE READ read-only transaction on PostgreSQL, a deferred
// read transaction (a WAL snapshot that blocks no writer) on SQLite.
func (db *DB) TenantSnapshot(ctx context.Context, restaurantID string, fn func(*Snapshot) error) error {
	if !ValidID(restaurantID) {
		return apperr.Errorf(apperr.NotFound, "restaurant not found")
	}
	run := func(q queryer) error {
		var exists int
		if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM restaurants WHERE id = $1`, restaurantID).Scan(&exists); err != nil {
			return fmt.Errorf("store: snapshot: %w", err)
		}
		if exists == 0 {
			return apperr.Errorf(apperr.NotFound, "restaurant not found")
		}
		s := &Snapshot{db: db, q: q, RestaurantID: restaurantID}
		if err := q.QueryRowContext(ctx, `SELECT COALESCE(MAX(version_id), 0) FROM goose_db_version WHERE is_applied`).Scan(&s.SchemaVersion); err != nil {
			return fmt.Errorf("store: snapshot schema version: %w", err)
		}
		return fn(s)
	}
	q, end, err := db.dialect.beginSnapshot(ctx, db)
	if err != nil {
		return fmt.Errorf("store: snapshot: %w", err)
	}
	defer end()
	return run(q)
}

// Columns lists a table's columns as the snapshot sees them.
func (s *Snapshot) Columns(ctx context.Context, table string) ([]Column, error) {
	return s.db.columns(ctx, s.q, table)
}

// Count returns how many rows the tenant has in table.
func (s *Snapshot) Count(ctx context.Context, table string) (int64, error) {
	if !IsCopyTable(table) {
		return 0, fmt.Errorf("store: %s is not a tenant table", table)
	}
	var n int64
	err := s.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+table+` WHERE `+tenantKey(table)+` = $1`, s.RestaurantID).Scan(&n)
	return n, err
}

// Each streams the tenant's rows of table, ordered by id, each as values in
// the order of cols, in their archive form (see ColumnType). The slice is
// reused between calls.
func (s *Snapshot) Each(ctx context.Context, table string, cols []Column, fn func(vals []any) error) error {
	if !IsCopyTable(table) {
		return fmt.Errorf("store: %s is not a tenant table", table)
	}
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = quoteIdent(c.Name)
	}
	rows, err := s.q.QueryContext(ctx, `SELECT `+strings.Join(names, ", ")+` FROM `+table+
		` WHERE `+tenantKey(table)+` = $1 ORDER BY id`, s.RestaurantID)
	if err != nil {
		return fmt.Errorf("store: read %s: %w", table, err)
	}
	defer rows.Close()
	raw := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range raw {
		ptrs[i] = &raw[i]
	}
	out := make([]any, len(cols))
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return fmt.Errorf("store: read %s: %w", table, err)
		}
		for i, c := range cols {
			v, err := toArchive(c.Type, raw[i])
			if err != nil {
				return fmt.Errorf("store: read %s.%s: %w", table, c.Name, err)
			}
			out[i] = v
		}
		if err := fn(out); err != nil {
			return err
		}
	}
	return rows.Err()
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

var timeLayouts = []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999-07:00", "2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999", "2006-01-02"}

func parseTime(s string) (time.Time, error) {
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("not a timestamp: %q", s)
}

// toArchive turns a value as either engine returns it into its archive form.
func toArchive(t ColumnType, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	if b, ok := v.([]byte); ok && t != TypeBytes {
		v = string(b)
	}
	switch t {
	case TypeTime, TypeDate:
		var tm time.Time
		switch x := v.(type) {
		case time.Time:
			tm = x
		case string:
			var err error
			if tm, err = parseTime(x); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("unexpected %T for a timestamp", v)
		}
		if t == TypeDate {
			return tm.Format("2006-01-02"), nil
		}
		return tm.UTC().Format("2006-01-02T15:04:05.000000Z"), nil
	case TypeBool:
		switch x := v.(type) {
		case bool:
			return x, nil
		case int64:
			return x != 0, nil
		case string:
			return strconv.ParseBool(x)
		}
		return nil, fmt.Errorf("unexpected %T for a boolean", v)
	case TypeInt:
		switch x := v.(type) {
		case int64:
			return x, nil
		case int32:
			return int64(x), nil
		case string:
			return strconv.ParseInt(x, 10, 64)
		}
		return nil, fmt.Errorf("unexpected %T for an integer", v)
	case TypeFloat:
		switch x := v.(type) {
		case float64:
			return x, nil
		case int64:
			return float64(x), nil
		case string:
			return strconv.ParseFloat(x, 64)
		}
		return nil, fmt.Errorf("unexpected %T for a number", v)
	case TypeBytes:
		if b, ok := v.([]byte); ok {
			return base64.StdEncoding.EncodeToString(b), nil
		}
		return base64.StdEncoding.EncodeToString([]byte(fmt.Sprint(v))), nil
	}
	switch x := v.(type) {
	case string:
		return x, nil
	case [16]byte:
		return fmt.Sprintf("%x-%x-%x-%x-%x", x[0:4], x[4:6], x[6:8], x[8:10], x[10:16]), nil
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano), nil
	}
	return fmt.Sprint(v), nil
}

// fromArchive turns a decoded JSON value (numbers as json.Number) into a
// query argument for a column of type t.
func fromArchive(t ColumnType, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch t {
	case TypeTime:
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("want a timestamp string, got %T", v)
		}
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return nil, fmt.Errorf("want an RFC 3339 timestamp: %w", err)
		}
		return tm.UTC(), nil
	case TypeDate:
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("want a date string, got %T", v)
		}
		tm, err := time.Parse("2006-01-02", s)
		if err != nil {
			return nil, fmt.Errorf("want a date: %w", err)
		}
		return tm, nil
	case TypeBool:
		b, ok := v.(bool)
		if !ok {
			return nil, fmt.Errorf("want true or false, got %T", v)
		}
		return b, nil
	case TypeInt:
		n, ok := v.(json.Number)
		if !ok {
			return nil, fmt.Errorf("want an integer, got %T", v)
		}
		return n.Int64()
	case TypeFloat:
		n, ok := v.(json.Number)
		if !ok {
			return nil, fmt.Errorf("want a number, got %T", v)
		}
		return n.Float64()
	case TypeBytes:
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("want base64 text, got %T", v)
		}
		return base64.StdEncoding.DecodeString(s)
	}
	s, ok := v.(string)
	if !ok {
		return nil, fmt.Errorf("want a string, got %T", v)
	}
	return s, nil
}

// RowSource feeds an import: the rows of each copy table, each as column →
// value as decoded from JSON (numbers as json.Number).
type RowSource interface {
	Rows(ctx context.Context, table string, fn func(row map[string]any) error) error
}

// ImportSpec says where an import goes.
type ImportSpec struct {
	// TargetID is the restaurant to create, or to replace when Replace.
	TargetID string
	Replace  bool
	// NewName, when set, renames the restaurant.
	NewName string
	// Tables are the copy tables present in the source, in CopyTables order.
	Tables []string
	// Progress, when set, is told each table as it starts.
	Progress func(table string, done, total int)
}

// ImportStats tells what an import wrote.
type ImportStats struct {
	RestaurantID string           `json:"restaurant_id"`
	Rows         map[string]int64 `json:"rows"`
}

// ErrImportTarget means the target restaurant is not as the spec says.
var ErrImportTarget = errors.New("store: import target")

// ImportTenant writes a tenant's rows in one transaction: a replaced tenant's
// rows are deleted first (the restaurant row cascades to every tenant table),
// then every row is inserted with restaurant_id set to the target; other ids
// are kept, which composite keys make safe. Nothing else happens — no
// events, no notifications — and on any error nothing changes.
func (db *DB) ImportTenant(ctx context.Context, spec ImportSpec, src RowSource) (ImportStats, error) {
	stats := ImportStats{RestaurantID: spec.TargetID, Rows: map[string]int64{}}
	if !ValidID(spec.TargetID) {
		return stats, apperr.InvalidField("target_restaurant_id", "malformed restaurant id")
	}
	if len(spec.Tables) == 0 || spec.Tables[0] != "restaurants" {
		return stats, apperr.Errorf(apperr.Invalid, "the archive has no restaurant row")
	}
	// The transaction runs on one dedicated connection so that, on
	// PostgreSQL, rows can be streamed with COPY inside it.
	conn, err := db.sql.Conn(ctx)
	if err != nil {
		return stats, fmt.Errorf("store: import: %w", err)
	}
	defer conn.Close()
	err = db.inConnTx(ctx, conn, func(tx *sql.Tx) error {
		var exists int
		var keepStatus string
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM restaurants WHERE id = $1`, spec.TargetID).Scan(&exists); err != nil {
			return fmt.Errorf("store: import: %w", err)
		}
		switch {
		case spec.Replace && exists == 0:
			return apperr.Errorf(apperr.NotFound, "restaurant not found")
		case !spec.Replace && exists != 0:
			return apperr.Errorf(apperr.Conflict, "restaurant %s already exists", spec.TargetID)
		case spec.Replace:
			if err := tx.QueryRowContext(ctx, `SELECT status FROM restaurants WHERE id = $1`, spec.TargetID).Scan(&keepStatus); err != nil {
				return fmt.Errorf("store: import: %w", err)
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM restaurants WHERE id = $1`, spec.TargetID); err != nil {
				return fmt.Errorf("store: import: clear restaurant: %w", err)
			}
		}
		for i, table := range spec.Tables {
			if spec.Progress != nil {
				spec.Progress(table, i, len(spec.Tables))
			}
			n, err := db.importTable(ctx, conn, tx, table, spec, src)
			if err != nil {
				return err
			}
			stats.Rows[table] = n
		}
		if stats.Rows["restaurants"] != 1 {
			return apperr.Errorf(apperr.Invalid, "the archive must hold exactly one restaurant row, not %d", stats.Rows["restaurants"])
		}
		if spec.Replace {
			// A restore keeps the tenant's current status (an operator who set
			// it read-only reactivates it after checking the result) and
			// revokes every token issued before it: sessions may refer to
			// state that no longer exists, and a token revoked after the
			// backup was taken must not come back to life.
			if _, err := tx.ExecContext(ctx, `UPDATE restaurants SET status = $1, tokens_valid_after = $2 WHERE id = $3`,
				keepStatus, db.Now(), spec.TargetID); err != nil {
				return fmt.Errorf("store: import: %w", err)
			}
		}
		actx := tenancy.WithTenant(ctx, spec.TargetID)
		action := "import"
		if spec.Replace {
			action = "restore"
		}
		return db.audit(actx, tx, action, "restaurant", spec.TargetID, nil, stats)
	})
	return stats, err
}

// maxParams keeps a multi-row INSERT under both engines' parameter limits.
const maxParams = 30000

// inConnTx is inTx on a given connection.
func (db *DB) inConnTx(ctx context.Context, conn *sql.Conn, fn func(tx *sql.Tx) error) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}

// copyRows writes rows with PostgreSQL's COPY on the connection of the
// open transaction: several times faster than INSERT for large tenants.
func copyRows(ctx context.Context, conn *sql.Conn, table string, cols []string, rows [][]any) error {
	return conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("store: copy: unexpected driver connection %T", dc)
		}
		_, err := sc.Conn().CopyFrom(ctx, pgx.Identifier{table}, cols, pgx.CopyFromRows(rows))
		return err
	})
}

func (db *DB) importTable(ctx context.Context, conn *sql.Conn, tx *sql.Tx, table string, spec ImportSpec, src RowSource) (int64, error) {
	cols, err := db.columns(ctx, tx, table)
	if err != nil {
		return 0, err
	}
	known := map[string]ColumnType{}
	for _, c := range cols {
		known[c.Name] = c.Type
	}
	key := tenantKey(table)
	// The columns written are those of the archive's rows (every row must
	// have the same ones): a column added after the archive was made keeps
	// its default.
	var use []Column
	var names []string
	batchRows := 1
	var args []any
	pending := 0
	var count int64
	var copyBatch [][]any
	var colNames []string
	flush := func() error {
		if pending == 0 {
			return nil
		}
		if db.dialect.copiesInBulk() {
			if colNames == nil {
				for _, c := range use {
					colNames = append(colNames, c.Name)
				}
			}
			copyBatch = copyBatch[:0]
			for r := 0; r < pending; r++ {
				copyBatch = append(copyBatch, args[r*len(use):(r+1)*len(use)])
			}
			if err := copyRows(ctx, conn, table, colNames, copyBatch); err != nil {
				return fmt.Errorf("store: import %s: %w", table, err)
			}
			args, pending = args[:0], 0
			return nil
		}
		var b strings.Builder
		b.WriteString(`INSERT INTO ` + table + ` (` + strings.Join(names, ", ") + `) VALUES `)
		p := 1
		for r := 0; r < pending; r++ {
			if r > 0 {
				b.WriteString(", ")
			}
			b.WriteByte('(')
			for c := 0; c < len(use); c++ {
				if c > 0 {
					b.WriteString(", ")
				}
				b.WriteString("$" + strconv.Itoa(p))
				p++
			}
			b.WriteByte(')')
		}
		if _, err := tx.ExecContext(ctx, b.String(), args...); err != nil {
			return fmt.Errorf("store: import %s: %w", table, err)
		}
		args, pending = args[:0], 0
		return nil
	}
	err = src.Rows(ctx, table, func(row map[string]any) error {
		for name := range row {
			if _, ok := known[name]; !ok {
				return apperr.Errorf(apperr.Invalid, "%s: column %s does not exist in this installation's schema", table, name)
			}
		}
		if use == nil {
			for _, c := range cols {
				if _, ok := row[c.Name]; ok || c.Name == key {
					use = append(use, c)
					names = append(names, quoteIdent(c.Name))
				}
			}
			batchRows = max(1, min(200, maxParams/len(use)))
			if db.dialect.copiesInBulk() {
				batchRows = 2000 // COPY has no parameter limit; this bounds memory
			}
			args = make([]any, 0, batchRows*len(use))
		}
		given := len(row)
		if _, ok := row[key]; !ok {
			given++
		}
		if given != len(use) {
			return apperr.Errorf(apperr.Invalid, "%s: rows do not all have the same columns", table)
		}
		for _, c := range use {
			v, present := row[c.Name]
			switch {
			case c.Name == key:
				v = spec.TargetID
			case table == "restaurants" && c.Name == "name" && spec.NewName != "":
				v = spec.NewName
			case !present:
				return apperr.Errorf(apperr.Invalid, "%s: rows do not all have the same columns", table)
			default:
				var err error
				if v, err = fromArchive(c.Type, v); err != nil {
					return apperr.Errorf(apperr.Invalid, "%s.%s: %v", table, c.Name, err)
				}
			}
			args = append(args, v)
		}
		pending++
		count++
		if pending == batchRows {
			return flush()
		}
		return nil
	})
	if err != nil {
		return count, err
	}
	return count, flush()
}

// DeleteRestaurant removes a tenant and, by cascade, every row it owns
// (scratch tenants of drills, failed clones). Platform-level.
func (db *DB) DeleteRestaurant(ctx context.Context, id string) error {
	if !ValidID(id) {
		return apperr.Errorf(apperr.NotFound, "restaurant not found")
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM restaurants WHERE id = $1`, id)
		if err != nil {
			return fmt.Errorf("store: delete restaurant: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return apperr.Errorf(apperr.NotFound, "restaurant not found")
		}
		return db.audit(tenancy.WithTenant(ctx, id), tx, "delete", "restaurant", id, nil, nil)
	})
}

// ForeignKeys returns every table's references, read from the catalog in
// one query on PostgreSQL (validating an archive needs only these, and the
// whole Schema takes several queries per table).
func (db *DB) ForeignKeys(ctx context.Context) (map[string][]ForeignKey, error) {
	return db.dialect.foreignKeys(ctx, db)
}
