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
	// uuid: a PostgreSQL uuid column, written to COPY as its 16 bytes (a
	// string would cost pgx a failed encoding and a retry per value).
	uuid bool
}

// CopyTables is every table a tenant copy covers, restaurants first, then
// TenantTables in dependency order, without the change log's own tables
// (LogTables): an archive records its position in the log instead.
func CopyTables() []string {
	out := []string{"restaurants"}
	for _, t := range TenantTables {
		if _, ok := LogTables[t]; !ok {
			out = append(out, t)
		}
	}
	return out
}

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
		out = append(out, Column{Name: name, Type: classify(typ), uuid: typ == "uuid" && db.dialect.copiesInBulk()})
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
	// Rows are the rows each table holds in the source (the manifest's
	// counts), against which progress is told.
	Rows map[string]int64
	// Progress, when set, is told as each table starts and a few times a
	// second within a table.
	Progress func(CopyProgress)
	// Changes, when set, feeds changes from the change log (ChangesSince,
	// or shipped segments) to replay after the archive's rows, in the same
	// transaction and in the order given: a point-in-time restore. Their
	// restaurant_id is the target's; inserts and updates write the whole
	// row, deletes remove it by key, and the restaurant row follows the
	// rules of a restore (status and token cut-off kept on Replace). Any
	// error, fn's or the source's, undoes the whole import. Rows["tenant_changes"],
	// when known, is how many there are, for progress.
	// It reads with the context it is given, which carries the connection
	// ImportTenant took for reading the change log (withLogReader).
	Changes func(ctx context.Context, fn func(Change) error) error
}

// ImportStats tells what an import wrote.
type ImportStats struct {
	RestaurantID string           `json:"restaurant_id"`
	Rows         map[string]int64 `json:"rows"`
	// Changes is how many logged changes were replayed after the rows.
	Changes int64 `json:"changes,omitempty"`
}

// ErrImportTarget means the target restaurant is not as the spec says.
var ErrImportTarget = errors.New("store: import target")

// ImportTenant writes a tenant's rows in one transaction: a replaced tenant's
// restaurant row is locked and updated in place and its other rows are
// deleted first, then every row is inserted with restaurant_id set to the
// target; other ids are kept, which composite keys make safe. Nothing else
// happens — no events, no notifications — and on any error nothing changes.
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
	if spec.Changes != nil {
		// The change log is read on a connection of its own, taken before
		// the transaction begins: once it holds its locks, a connection
		// asked of the pool could be one that a writer waiting on those
		// locks holds.
		reader, err := db.sql.Conn(ctx)
		if err != nil {
			return stats, fmt.Errorf("store: import: %w", err)
		}
		defer reader.Close()
		ctx = withLogReader(ctx, db, reader)
	}
	err = db.inConnTx(ctx, conn, func(tx *sql.Tx) error {
		// The import's own writes are not logged (a million rows would be
		// logged for nothing): the log records that the restaurant was
		// imported, and its changes from then on.
		if err := db.dialect.suppressCapture(ctx, tx, true); err != nil {
			return fmt.Errorf("store: import: %w", err)
		}
		if spec.Replace {
			// The restaurant row is locked for the whole restore and kept:
			// a status change or token revocation sent meanwhile waits for
			// the restore and then applies to the restored row, instead of
			// updating a row about to be deleted (and so changing nothing).
			if _, err := db.lockRestaurant(ctx, tx, spec.TargetID); err != nil {
				return err
			}
			if err := clearTenantRows(ctx, tx, spec.TargetID); err != nil {
				return err
			}
		} else {
			var exists int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM restaurants WHERE id = $1`, spec.TargetID).Scan(&exists); err != nil {
				return fmt.Errorf("store: import: %w", err)
			}
			if exists != 0 {
				return apperr.Errorf(apperr.Conflict, "restaurant %s already exists", spec.TargetID)
			}
		}
		meter := NewCopyMeter(spec.Rows, spec.Progress)
		for _, table := range spec.Tables {
			meter.Table(table)
			var n int64
			var err error
			if table == "restaurants" && spec.Replace {
				n, err = db.restoreRestaurantRow(ctx, tx, spec, src)
			} else {
				n, err = db.importTable(ctx, conn, tx, table, spec, src, meter)
			}
			if err != nil {
				return err
			}
			stats.Rows[table] = n
		}
		if stats.Rows["restaurants"] != 1 {
			return apperr.Errorf(apperr.Invalid, "the archive must hold exactly one restaurant row, not %d", stats.Rows["restaurants"])
		}
		if spec.Changes != nil {
			meter.Table("tenant_changes")
			n, err := db.applyChanges(ctx, tx, spec, meter)
			if err != nil {
				return err
			}
			stats.Changes = n
		}
		if err := db.dialect.suppressCapture(ctx, tx, false); err != nil {
			return fmt.Errorf("store: import: %w", err)
		}
		if err := db.dialect.logImport(ctx, tx, spec.TargetID); err != nil {
			return fmt.Errorf("store: import: log the import: %w", err)
		}
		actx := tenancy.WithTenant(ctx, spec.TargetID)
		action := "import"
		if spec.Replace {
			action = "restore"
			// Last, so the auth version's row lock is held only for the
			// commit: the restaurant's users were replaced.
			if err := db.authChanged(ctx, tx, AuthChange{Kind: AuthTenant, RestaurantID: spec.TargetID}); err != nil {
				return err
			}
		}
		return db.audit(actx, tx, action, "restaurant", spec.TargetID, nil, stats)
	})
	return stats, err
}

// restaurantKept are the columns of a restored restaurant row that keep
// their live values: the status an operator set (an operator who set it
// read-only or suspended it meanwhile decides when it is active again) and
// the token cut-off, which the restore moves to now — sessions may refer to
// state that no longer exists, and a token revoked after the backup was
// taken must not come back to life.
var restaurantKept = map[string]bool{"id": true, "status": true, "tokens_valid_after": true}

// restoreRestaurantRow updates the locked restaurant row in place from the
// archive's, rather than deleting and re-inserting it, so the row lock
// holds throughout and concurrent changes queue behind it.
func (db *DB) restoreRestaurantRow(ctx context.Context, tx *sql.Tx, spec ImportSpec, src RowSource) (int64, error) {
	cols, err := db.columns(ctx, tx, "restaurants")
	if err != nil {
		return 0, err
	}
	var count int64
	err = src.Rows(ctx, "restaurants", func(row map[string]any) error {
		count++
		if count > 1 {
			return apperr.Errorf(apperr.Invalid, "the archive must hold exactly one restaurant row")
		}
		known := map[string]bool{}
		for _, c := range cols {
			known[c.Name] = true
		}
		for name := range row {
			if !known[name] {
				return apperr.Errorf(apperr.Invalid, "restaurants: column %s does not exist in this installation's schema", name)
			}
		}
		var sets []string
		var args []any
		for _, c := range cols {
			v, present := row[c.Name]
			if !present || restaurantKept[c.Name] {
				continue
			}
			if c.Name == "name" && spec.NewName != "" {
				v = spec.NewName
			} else if v, err = fromArchive(c.Type, v); err != nil {
				return apperr.Errorf(apperr.Invalid, "restaurants.%s: %v", c.Name, err)
			}
			args = append(args, v)
			sets = append(sets, quoteIdent(c.Name)+" = $"+strconv.Itoa(len(args)))
		}
		args = append(args, db.Now())
		sets = append(sets, "tokens_valid_after = $"+strconv.Itoa(len(args)))
		args = append(args, spec.TargetID)
		res, err := tx.ExecContext(ctx, `UPDATE restaurants SET `+strings.Join(sets, ", ")+` WHERE id = $`+strconv.Itoa(len(args)), args...)
		if err != nil {
			return fmt.Errorf("store: restore restaurant row: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return apperr.Errorf(apperr.NotFound, "restaurant not found")
		}
		return nil
	})
	return count, err
}

// clearTenantRows deletes every row the tenant owns except its restaurant
// row, children before the tables they reference.
func clearTenantRows(ctx context.Context, tx *sql.Tx, restaurantID string) error {
	tables := CopyTables()[1:] // the change log is kept: it records the restore
	for i := len(tables) - 1; i >= 0; i-- {
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+tables[i]+` WHERE restaurant_id = $1`, restaurantID); err != nil {
			return fmt.Errorf("store: import: clear %s: %w", tables[i], err)
		}
	}
	return nil
}

// maxParams keeps a multi-row INSERT under both engines' parameter limits.
const maxParams = 30000

// inConnTx is inTx on a given connection.
func (db *DB) inConnTx(ctx context.Context, conn *sql.Conn, fn func(tx *sql.Tx) error) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	return db.endTx(tx, fn(tx))
}

// importTable writes one table's rows inside the import's transaction and
// returns how many there were.
func (db *DB) importTable(ctx context.Context, conn *sql.Conn, tx *sql.Tx, table string, spec ImportSpec, src RowSource, meter *CopyMeter) (int64, error) {
	cols, err := db.columns(ctx, tx, table)
	if err != nil {
		return 0, err
	}
	rc := &rowConverter{table: table, key: tenantKey(table), spec: spec, cols: cols, known: map[string]ColumnType{}}
	for _, c := range cols {
		rc.known[c.Name] = c.Type
	}
	if db.dialect.copiesInBulk() {
		return db.copyTable(ctx, conn, rc, src, meter)
	}
	return db.insertTable(ctx, tx, rc, src, meter)
}

// rowConverter turns an archive's rows into a table's query arguments.
type rowConverter struct {
	table, key string
	spec       ImportSpec
	cols       []Column
	known      map[string]ColumnType
	// use are the columns written: those of the archive's rows (every row
	// must have the same ones), so a column added after the archive was
	// made keeps its default.
	use []Column
}

// convert appends row's values, in the order of use, to args; the first
// row decides use.
func (rc *rowConverter) convert(row map[string]any, args []any) ([]any, error) {
	for name := range row {
		if _, ok := rc.known[name]; !ok {
			return args, apperr.Errorf(apperr.Invalid, "%s: column %s does not exist in this installation's schema", rc.table, name)
		}
	}
	if rc.use == nil {
		for _, c := range rc.cols {
			if _, ok := row[c.Name]; ok || c.Name == rc.key {
				rc.use = append(rc.use, c)
			}
		}
	}
	given := len(row)
	if _, ok := row[rc.key]; !ok {
		given++
	}
	if given != len(rc.use) {
		return args, apperr.Errorf(apperr.Invalid, "%s: rows do not all have the same columns", rc.table)
	}
	for _, c := range rc.use {
		v, present := row[c.Name]
		switch {
		case c.Name == rc.key:
			v = rc.spec.TargetID
		case rc.table == "restaurants" && c.Name == "name" && rc.spec.NewName != "":
			v = rc.spec.NewName
		case !present:
			return args, apperr.Errorf(apperr.Invalid, "%s: rows do not all have the same columns", rc.table)
		default:
			var err error
			if v, err = fromArchive(c.Type, v); err != nil {
				return args, apperr.Errorf(apperr.Invalid, "%s.%s: %v", rc.table, c.Name, err)
			}
		}
		if c.uuid {
			if s, ok := v.(string); ok {
				if u, ok := parseUUID(s); ok {
					v = u
				}
			}
		}
		args = append(args, v)
	}
	return args, nil
}

// parseUUID reads a uuid's canonical text form.
func parseUUID(s string) ([16]byte, bool) {
	var u [16]byte
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return u, false
	}
	j := 0
	for i := 0; i < 36; {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			i++
			continue
		}
		hi, ok1 := unhex(s[i])
		lo, ok2 := unhex(s[i+1])
		if !ok1 || !ok2 {
			return u, false
		}
		u[j] = hi<<4 | lo
		j++
		i += 2
	}
	return u, true
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// copyBatch is how many rows travel together from the archive reader to
// COPY: enough to amortise the hand-over, small enough to keep memory flat.
const copyBatch = 1000

// copyTable streams a table into one COPY on the transaction's connection.
// The archive is decoded in a goroutine of its own while pgx encodes and
// sends the rows decoded before, and the server writes them: decoding,
// sending and writing overlap instead of taking turns.
func (db *DB) copyTable(ctx context.Context, conn *sql.Conn, rc *rowConverter, src RowSource, meter *CopyMeter) (int64, error) {
	feed := &copyFeed{batches: make(chan [][]any, 4)}
	columns := make(chan []string, 1)
	stop := make(chan struct{})
	produced := make(chan error, 1)
	var count int64
	go func() {
		var batch [][]any
		send := func() bool {
			select {
			case feed.batches <- batch:
				batch = nil
				return true
			case <-stop:
				return false
			}
		}
		err := src.Rows(ctx, rc.table, func(row map[string]any) error {
			args, err := rc.convert(row, make([]any, 0, len(rc.cols)))
			if err != nil {
				return err
			}
			if count == 0 {
				names := make([]string, len(rc.use))
				for i, c := range rc.use {
					names[i] = c.Name
				}
				columns <- names
			}
			count++
			meter.Row()
			batch = append(batch, args)
			if len(batch) == copyBatch && !send() {
				return errCopyStopped
			}
			return nil
		})
		if err == nil && len(batch) > 0 {
			send()
		}
		feed.err = err
		close(columns)
		close(feed.batches)
		produced <- err
	}()
	names, ok := <-columns
	if !ok { // no rows, or the archive failed before its first row
		return 0, <-produced
	}
	cerr := conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("unexpected driver connection %T", dc)
		}
		_, err := sc.Conn().CopyFrom(ctx, pgx.Identifier{rc.table}, names, feed)
		return err
	})
	close(stop)
	for range feed.batches { // let the reader end
	}
	if perr := <-produced; perr != nil && !errors.Is(perr, errCopyStopped) {
		return count, perr
	}
	if cerr != nil {
		return count, fmt.Errorf("store: import %s: %w", rc.table, cerr)
	}
	return count, nil
}

var errCopyStopped = errors.New("store: copy stopped")

// copyFeed is the pgx.CopyFromSource of copyTable.
type copyFeed struct {
	batches chan [][]any
	cur     [][]any
	i       int
	vals    []any
	err     error // set before batches closes
}

func (f *copyFeed) Next() bool {
	for f.i >= len(f.cur) {
		b, ok := <-f.batches
		if !ok {
			return false
		}
		f.cur, f.i = b, 0
	}
	f.vals = f.cur[f.i]
	f.i++
	return true
}

func (f *copyFeed) Values() ([]any, error) { return f.vals, nil }

func (f *copyFeed) Err() error { return f.err }

// insertTable writes a table with one prepared multi-row INSERT, run as
// often as there are full batches, inside the import's transaction.
func (db *DB) insertTable(ctx context.Context, tx *sql.Tx, rc *rowConverter, src RowSource, meter *CopyMeter) (int64, error) {
	var args []any
	var count int64
	batchRows, pending := 0, 0
	var full *sql.Stmt
	defer func() {
		if full != nil {
			full.Close()
		}
	}()
	insert := func(rows int) string {
		names := make([]string, len(rc.use))
		for i, c := range rc.use {
			names[i] = quoteIdent(c.Name)
		}
		var b strings.Builder
		b.WriteString(`INSERT INTO ` + rc.table + ` (` + strings.Join(names, ", ") + `) VALUES `)
		p := 1
		for r := 0; r < rows; r++ {
			if r > 0 {
				b.WriteString(", ")
			}
			b.WriteByte('(')
			for c := range rc.use {
				if c > 0 {
					b.WriteString(", ")
				}
				b.WriteString("$" + strconv.Itoa(p))
				p++
			}
			b.WriteByte(')')
		}
		return b.String()
	}
	flush := func() error {
		if pending == 0 {
			return nil
		}
		var err error
		if pending == batchRows {
			if full == nil {
				if full, err = tx.PrepareContext(ctx, insert(batchRows)); err != nil {
					return fmt.Errorf("store: import %s: %w", rc.table, err)
				}
			}
			_, err = full.ExecContext(ctx, args...)
		} else {
			_, err = tx.ExecContext(ctx, insert(pending), args...)
		}
		if err != nil {
			return fmt.Errorf("store: import %s: %w", rc.table, err)
		}
		args, pending = args[:0], 0
		return nil
	}
	err := src.Rows(ctx, rc.table, func(row map[string]any) error {
		var err error
		if args, err = rc.convert(row, args); err != nil {
			return err
		}
		if batchRows == 0 {
			batchRows = max(1, min(200, maxParams/len(rc.use)))
		}
		pending++
		count++
		meter.Row()
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
		// The change log has no foreign key to cascade (a referential check
		// per logged row cost the capture too much): its rows go here, after
		// the restaurant's, whose cascades log nothing once it is gone.
		if _, err := tx.ExecContext(ctx, `DELETE FROM tenant_changes WHERE restaurant_id = $1`, id); err != nil {
			return fmt.Errorf("store: delete restaurant's change log: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM sdk_keys WHERE restaurant_id = $1`, id); err != nil {
			return fmt.Errorf("store: delete restaurant's sdk keys: %w", err)
		}
		if err := db.authChanged(ctx, tx, AuthChange{Kind: AuthTenant, RestaurantID: id}); err != nil {
			return err
		}
		if err := db.authChanged(ctx, tx, AuthChange{Kind: AuthSDKKey, RestaurantID: id}); err != nil {
			return err
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
