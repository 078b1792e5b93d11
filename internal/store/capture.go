package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/apperr"
)

// Capture: the change log is written by triggers, on both engines, in the
// transaction of the change. Triggers work on every hosted PostgreSQL (no
// wal_level=logical, no replication slot to keep alive), cost one insert
// beside each changed row, and on Citus write to the log's shard beside the
// row's (the log is distributed and colocated by restaurant_id). The
// triggers are made by the migrate step from the catalog, so a table added
// later is captured without anyone remembering, and a test fails when a
// copy table is neither captured nor excluded below.

// CaptureExcluded are the copy tables whose changes are not logged, each for
// a stated reason. A point-in-time restore gives them as its base archive
// holds them.
var CaptureExcluded = map[string]string{
	"tenant_events":        "the analytics event log: append-only, by far the largest table, and not state a restore brings back",
	"tenant_event_rollups": "derived from tenant_events",
	"tenant_daily_users":   "derived from tenant_events",
	"tenant_route_rollups": "derived from the request log",
	"flag_evaluations":     "evaluation counters flushed from memory, not state anyone edits",
	"idempotency_keys":     "answers to retried requests, pruned after a day; a restored restaurant must not answer a retry with a write it no longer holds",
}

// LogTables are the tenant tables of the change log itself: neither copied
// into archives nor captured.
var LogTables = map[string]string{
	"tenant_changes": "the change log",
}

// CapturedTables are the copy tables whose changes are logged, in
// CopyTables order.
func CapturedTables() []string {
	var out []string
	for _, t := range CopyTables() {
		if _, ok := CaptureExcluded[t]; !ok {
			out = append(out, t)
		}
	}
	return out
}

// IsCaptured reports whether changes to table are logged.
func IsCaptured(table string) bool { return slices.Contains(CapturedTables(), table) }

// CaptureWithoutUpdates are the captured tables whose updates are not
// logged, each with what a replay does instead. Their inserts and deletes
// are, so every row keeps its id across a restore.
var CaptureWithoutUpdates = map[string]string{
	"number_counters": "every order and reservation updates its day's counter, one more logged row (with both images) in the transaction that holds the counter's lock; " +
		"a counter's value is the highest number of its kind and day, so a replay sets it from the numbers of the orders and reservations it replays (rebuildCounters)",
}

// pgCaptureFunction is the trigger function of every captured tenant table
// on PostgreSQL (pgCaptureRestaurantFunction is the restaurants table's), a
// row trigger: Citus runs only row triggers on distributed tables (each on
// the shard of its row). Each operation runs one statement, the insert into
// the log, with the row's own restaurant_id: an update is logged with the
// whole old row, and ChangesSince keeps the columns that changed (a query
// over jsonb_each to find them cost more than the insert); an update that
// changed nothing is not logged, its two images being equal. A delete
// whose restaurant is gone (the restaurant itself is being deleted, and
// its log with it) is not logged either. ordersuite.capture = 'off', set
// for its transaction by an import or a restore, suppresses it. Every
// statement and expression of a plpgsql function costs each logged row:
// an insert runs three (the switch, the operation's test, the insert).
const pgCaptureFunction = `
DECLARE
    new_row jsonb;
    old_row jsonb;
BEGIN
    IF current_setting('ordersuite.capture', true) = 'off' THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        INSERT INTO tenant_changes (restaurant_id, tx, changed_at, table_name, op, row_data)
        VALUES (NEW.restaurant_id, pg_current_xact_id()::text, clock_timestamp(), TG_TABLE_NAME, 'insert', to_jsonb(NEW));
    ELSIF TG_OP = 'UPDATE' THEN
        new_row := to_jsonb(NEW);
        old_row := to_jsonb(OLD);
        IF new_row <> old_row THEN
            INSERT INTO tenant_changes (restaurant_id, tx, changed_at, table_name, op, row_data, old_data)
            VALUES (NEW.restaurant_id, pg_current_xact_id()::text, clock_timestamp(), TG_TABLE_NAME, 'update', new_row, old_row);
        END IF;
    ELSIF EXISTS (SELECT 1 FROM restaurants WHERE id = OLD.restaurant_id) THEN
        INSERT INTO tenant_changes (restaurant_id, tx, changed_at, table_name, op, row_data)
        VALUES (OLD.restaurant_id, pg_current_xact_id()::text, clock_timestamp(), TG_TABLE_NAME, 'delete', to_jsonb(OLD));
    END IF;
    RETURN NULL;
END
`

// pgCaptureRestaurantFunction is pgCaptureFunction for the restaurants
// table, whose key is id; its deletion is not logged (captureEvents).
const pgCaptureRestaurantFunction = `
DECLARE
    new_row jsonb;
    old_row jsonb;
BEGIN
    IF current_setting('ordersuite.capture', true) = 'off' THEN
        RETURN NULL;
    END IF;
    new_row := to_jsonb(NEW);
    IF TG_OP = 'UPDATE' THEN
        old_row := to_jsonb(OLD);
        IF new_row = old_row THEN
            RETURN NULL;
        END IF;
    END IF;
    INSERT INTO tenant_changes (restaurant_id, tx, changed_at, table_name, op, row_data, old_data)
    VALUES (NEW.id, pg_current_xact_id()::text, clock_timestamp(), TG_TABLE_NAME, lower(TG_OP), new_row, old_row);
    RETURN NULL;
END
`

// pgCaptureTrigger is the trigger's name on every captured table.
const pgCaptureTrigger = "capture_changes"

// captureEvents are the operations logged on a table: a restaurant's own
// deletion is not (its log goes with it), nor the updates of the tables
// in CaptureWithoutUpdates.
func captureEvents(table string) []string {
	if table == "restaurants" {
		return []string{"insert", "update"}
	}
	if _, ok := CaptureWithoutUpdates[table]; ok {
		return []string{"insert", "delete"}
	}
	return []string{"insert", "update", "delete"}
}

// captureDigest identifies the capture's definition, part of
// MigrationsDigest: two binaries with the same digest build the same
// triggers.
func captureDigest() string {
	h := sha256.New()
	h.Write([]byte(pgCaptureFunction))
	h.Write([]byte(pgCaptureRestaurantFunction))
	h.Write([]byte(pgTriggerSQL("t")))
	h.Write([]byte(sqliteTriggerSQL("t", []string{"restaurant_id", "id"}, "update")))
	for _, set := range []map[string]string{CaptureExcluded, CaptureWithoutUpdates} {
		tables := make([]string, 0, len(set))
		for t := range set {
			tables = append(tables, t)
		}
		sort.Strings(tables)
		for _, t := range tables {
			h.Write([]byte(t))
		}
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// EnsureCapture (re)makes the capture triggers of every captured table from
// the catalog and removes those of tables no longer captured. It changes
// nothing when every trigger is as it should be. The migrate step runs it.
func (db *DB) EnsureCapture(ctx context.Context) error {
	db.captureOff.Store(false)
	return db.dialect.ensureCapture(ctx, db)
}

// SetCapture turns the change log on or off for the whole database (the
// capture benchmark measures order creation both ways): off removes the
// triggers, on makes them again.
func (db *DB) SetCapture(ctx context.Context, on bool) error {
	if on {
		return db.EnsureCapture(ctx)
	}
	db.captureOff.Store(true)
	return db.dialect.dropCapture(ctx, db)
}

// CaptureProblems lists every way the capture differs from what the
// catalog asks for: a captured table without its triggers, a trigger that
// misses a column, an exclusion naming no copy table. Empty when the change
// log records every change to every captured table.
func (db *DB) CaptureProblems(ctx context.Context) ([]string, error) {
	var out []string
	for t := range CaptureExcluded {
		if !IsCopyTable(t) {
			out = append(out, fmt.Sprintf("store.CaptureExcluded names %s, which is not a copy table", t))
		}
	}
	for t := range CaptureWithoutUpdates {
		if !IsCaptured(t) || t == "restaurants" {
			out = append(out, fmt.Sprintf("store.CaptureWithoutUpdates names %s, which is not a captured tenant table", t))
		}
	}
	for _, t := range TenantTables {
		if _, ok := LogTables[t]; !ok && !IsCopyTable(t) {
			out = append(out, fmt.Sprintf("tenant table %s is neither copied nor a change log table", t))
		}
	}
	more, err := db.dialect.captureProblems(ctx, db)
	if err != nil {
		return nil, err
	}
	out = append(out, more...)
	sort.Strings(out)
	return out, nil
}

// Position tells where in the change log the snapshot was read: an archive
// made from it holds exactly the changes the position says it does.
func (s *Snapshot) Position(ctx context.Context) (LogPosition, error) {
	return s.db.dialect.snapshotPosition(ctx, s.q, s.RestaurantID)
}

// ErrLogReset is the error of ChangesSince when the restaurant was restored
// or imported in the span asked for: the writes of an import are not
// logged, so the log cannot be replayed across one.
var ErrLogReset = errors.New("store: the change log cannot be replayed across a restore")

// LogResetError tells when the restaurant was restored or imported.
type LogResetError struct {
	RestaurantID string
	At           time.Time
}

func (e *LogResetError) Error() string {
	return fmt.Sprintf("restaurant %s was restored or imported at %s; its change log cannot be replayed across that moment (choose a base backup taken after it)",
		e.RestaurantID, e.At.UTC().Format(time.RFC3339))
}

func (e *LogResetError) Unwrap() error { return ErrLogReset }

// ChangesSince calls fn with the changes to restaurantID that an archive
// read at from does not hold, of the transactions whose moment is at or
// before until, in replay (seq) order, their rows in archive form: the
// values an archive's table file holds for the same row. A zero from reads
// from the start of the log. Only committed transactions are read.
func (db *DB) ChangesSince(ctx context.Context, restaurantID string, from LogPosition, until time.Time, fn func(Change) error) error {
	if !ValidID(restaurantID) {
		return apperr.Errorf(apperr.NotFound, "restaurant not found")
	}
	if from != (LogPosition{}) && from.Engine != db.Engine {
		return apperr.Errorf(apperr.Invalid, "the log position is one of %s, not of this %s database", from.Engine, db.Engine)
	}
	q := db.logReader(ctx)
	conv := newChangeConverter(db)
	conv.q = q
	// Every column type first: on one PostgreSQL connection no query can
	// run while the log's rows are being read.
	for _, table := range CopyTables() {
		if err := conv.load(ctx, table); err != nil {
			return err
		}
	}
	query, args := db.dialect.changesQuery(restaurantID, from, until.UTC())
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("store: read the change log: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var c Change
		var at any
		var row string
		var old sql.NullString
		if err := rows.Scan(&c.Seq, &c.Tx, &at, &c.Table, &c.Op, &row, &old); err != nil {
			return fmt.Errorf("store: read the change log: %w", err)
		}
		c.RestaurantID = restaurantID
		if c.TxAt, err = logTime(at); err != nil {
			return fmt.Errorf("store: change %d: %w", c.Seq, err)
		}
		if c.Op == "import" {
			return &LogResetError{RestaurantID: restaurantID, At: c.TxAt}
		}
		if c.Row, err = conv.archiveForm(ctx, c.Table, row); err != nil {
			return fmt.Errorf("store: change %d: %w", c.Seq, err)
		}
		if old.Valid && c.Op == OpUpdate {
			all, err := conv.archiveForm(ctx, c.Table, old.String)
			if err != nil {
				return fmt.Errorf("store: change %d: %w", c.Seq, err)
			}
			c.Old = map[string]any{}
			for k, v := range all {
				if nv, ok := c.Row[k]; !ok || !sameValue(nv, v) {
					c.Old[k] = v
				}
			}
			if len(c.Old) == 0 {
				continue // SQLite logs an update whose values were rewritten the same
			}
		}
		if err := fn(c); err != nil {
			return err
		}
	}
	return rows.Err()
}

func sameValue(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// logTime reads a change's moment as either engine returns it.
func logTime(v any) (time.Time, error) {
	switch x := v.(type) {
	case time.Time:
		return x.UTC(), nil
	case []byte:
		return parseTime(string(x))
	case string:
		if x == "" {
			return time.Time{}, nil
		}
		t, err := parseTime(x)
		return t.UTC(), err
	}
	return time.Time{}, fmt.Errorf("unexpected %T for a change's moment", v)
}

// logAt is a moment as SQLite's change log keeps it: fixed width, so that
// text order is time order.
func logAt(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z") }

// changeConverter turns a logged row image (JSON) into archive form, with
// the column types of the table as it is now, read on q.
type changeConverter struct {
	db    *DB
	q     queryer
	types map[string]map[string]ColumnType
}

func newChangeConverter(db *DB) *changeConverter {
	return &changeConverter{db: db, q: db.sql, types: map[string]map[string]ColumnType{}}
}

// load reads the column types of table, once.
func (cc *changeConverter) load(ctx context.Context, table string) error {
	if _, ok := cc.types[table]; ok {
		return nil
	}
	cols, err := cc.db.columns(ctx, cc.q, table)
	if err != nil {
		return err
	}
	types := map[string]ColumnType{}
	for _, c := range cols {
		types[c.Name] = c.Type
	}
	cc.types[table] = types
	return nil
}

func (cc *changeConverter) archiveForm(ctx context.Context, table, data string) (map[string]any, error) {
	if err := cc.load(ctx, table); err != nil {
		return nil, err
	}
	types := cc.types[table]
	dec := json.NewDecoder(strings.NewReader(data))
	dec.UseNumber()
	var raw map[string]any
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("row image of %s: %w", table, err)
	}
	out := make(map[string]any, len(raw))
	for k, v := range raw {
		t, known := types[k]
		if !known {
			out[k] = v // a column dropped since: the import names it
			continue
		}
		av, err := logValueToArchive(t, v)
		if err != nil {
			return nil, fmt.Errorf("%s.%s: %w", table, k, err)
		}
		out[k] = av
	}
	return out, nil
}

// logValueToArchive converts one value of a JSON row image.
func logValueToArchive(t ColumnType, v any) (any, error) {
	switch x := v.(type) {
	case json.Number:
		v = string(x)
	case map[string]any, []any:
		// A jsonb column, which to_jsonb nests: archives hold its text as
		// PostgreSQL writes it.
		v = pgJSONText(x)
	case bool:
		if t == TypeText {
			v = strconv.FormatBool(x)
		}
	}
	if s, ok := v.(string); ok && t == TypeBytes && strings.HasPrefix(s, `\x`) {
		b, err := hex.DecodeString(s[2:])
		if err != nil {
			return nil, err
		}
		v = b
	}
	av, err := toArchive(t, v)
	if err != nil {
		return nil, err
	}
	return archiveNumber(av), nil
}

// archiveNumber turns a number into json.Number as an archive's reader
// gives it.
func archiveNumber(v any) any {
	switch x := v.(type) {
	case int64:
		return json.Number(strconv.FormatInt(x, 10))
	case float64:
		b, err := json.Marshal(x)
		if err != nil {
			return v
		}
		return json.Number(b)
	}
	return v
}

// pgJSONText writes a JSON value as PostgreSQL writes jsonb: object keys
// shorter first, then in byte order; ", " and ": " between items.
func pgJSONText(v any) string {
	var b strings.Builder
	var write func(v any)
	write = func(v any) {
		switch x := v.(type) {
		case nil:
			b.WriteString("null")
		case bool:
			b.WriteString(strconv.FormatBool(x))
		case json.Number:
			b.WriteString(string(x))
		case float64:
			b.WriteString(strconv.FormatFloat(x, 'g', -1, 64))
		case string:
			b.WriteString(pgJSONString(x))
		case []any:
			b.WriteByte('[')
			for i, e := range x {
				if i > 0 {
					b.WriteString(", ")
				}
				write(e)
			}
			b.WriteByte(']')
		case map[string]any:
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			sort.Slice(keys, func(i, j int) bool {
				if len(keys[i]) != len(keys[j]) {
					return len(keys[i]) < len(keys[j])
				}
				return keys[i] < keys[j]
			})
			b.WriteByte('{')
			for i, k := range keys {
				if i > 0 {
					b.WriteString(", ")
				}
				b.WriteString(pgJSONString(k))
				b.WriteString(": ")
				write(x[k])
			}
			b.WriteByte('}')
		default:
			j, _ := json.Marshal(x)
			b.Write(j)
		}
	}
	write(v)
	return b.String()
}

// pgJSONString quotes s as PostgreSQL's escape_json does.
func pgJSONString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if c < 0x20 {
				fmt.Fprintf(&b, `\u%04x`, c)
			} else {
				b.WriteByte(c)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

// applyChangesInOrder replays changes one statement each, in the order
// given, inside an import's transaction, onto the target restaurant: an
// insert or update writes the whole row (an upsert by primary key), a
// delete removes the row by its key, and the restaurant row follows
// restoreRestaurantRow's rules. applyChanges falls back to it when the
// set-based replay fails, so errors name the offending change.
func (db *DB) applyChangesInOrder(ctx context.Context, tx *sql.Tx, spec ImportSpec, meter *CopyMeter) (int64, error) {
	schema := newChangeSchema(db, tx)
	var n int64
	err := spec.Changes(ctx, func(c Change) error {
		ti, err := schema.check(ctx, c)
		if err != nil {
			return err
		}
		n++
		meter.Row()
		value := func(col Column) (any, error) { return changeValue(c, col) }
		if c.Table == "restaurants" {
			if c.Op == OpDelete {
				return nil
			}
			var sets []string
			var args []any
			for _, col := range ti.cols {
				if _, present := c.Row[col.Name]; !present || col.Name == "id" || (spec.Replace && restaurantKept[col.Name]) {
					continue
				}
				var v any
				if col.Name == "name" && spec.NewName != "" {
					v = spec.NewName
				} else {
					var err error
					if v, err = value(col); err != nil {
						return err
					}
				}
				args = append(args, v)
				sets = append(sets, quoteIdent(col.Name)+" = $"+strconv.Itoa(len(args)))
			}
			if len(sets) == 0 {
				return nil
			}
			args = append(args, spec.TargetID)
			_, err := tx.ExecContext(ctx, `UPDATE restaurants SET `+strings.Join(sets, ", ")+` WHERE id = $`+strconv.Itoa(len(args)), args...)
			if err != nil {
				return fmt.Errorf("store: replay change %d to restaurants: %w", c.Seq, err)
			}
			return nil
		}
		switch c.Op {
		case OpDelete:
			id, err := value(ti.types["id"])
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+c.Table+` WHERE restaurant_id = $1 AND id = $2`, spec.TargetID, id); err != nil {
				return fmt.Errorf("store: replay change %d to %s: %w", c.Seq, c.Table, err)
			}
			return nil
		case OpInsert, OpUpdate:
			var names, params, sets []string
			var args []any
			for _, col := range ti.cols {
				if _, present := c.Row[col.Name]; !present && col.Name != "restaurant_id" {
					continue
				}
				var v any = spec.TargetID
				if col.Name != "restaurant_id" {
					var err error
					if v, err = value(col); err != nil {
						return err
					}
				}
				args = append(args, v)
				names = append(names, quoteIdent(col.Name))
				params = append(params, "$"+strconv.Itoa(len(args)))
				if col.Name != "restaurant_id" && col.Name != "id" {
					sets = append(sets, quoteIdent(col.Name)+" = excluded."+quoteIdent(col.Name))
				}
			}
			q := `INSERT INTO ` + c.Table + ` (` + strings.Join(names, ", ") + `) VALUES (` + strings.Join(params, ", ") + `) ON CONFLICT (restaurant_id, id) DO `
			if len(sets) == 0 {
				q += `NOTHING`
			} else {
				q += `UPDATE SET ` + strings.Join(sets, ", ")
			}
			if _, err := tx.ExecContext(ctx, q, args...); err != nil {
				return apperr.Errorf(apperr.Invalid, "change %d to %s could not be replayed: %v", c.Seq, c.Table, err)
			}
			return nil
		}
		return apperr.Errorf(apperr.Invalid, "change %d: unknown operation %q", c.Seq, c.Op)
	})
	return n, err
}

// changeNumber accepts numbers as Go values too (a change built in code
// rather than decoded from JSON).
func changeNumber(v any) any {
	switch x := v.(type) {
	case int:
		return json.Number(strconv.Itoa(x))
	case int64, float64:
		return archiveNumber(x)
	}
	return v
}

// changeSchema checks replayed changes against this installation's
// schema, the same for both replays: the table must be a captured copy
// table and every column of the row must exist. It keeps each table's
// columns once read.
type changeSchema struct {
	db     *DB
	q      queryer
	tables map[string]*changeTable
}

// changeTable is a replayed table's columns, in order and by name.
type changeTable struct {
	cols  []Column
	types map[string]Column
}

func newChangeSchema(db *DB, q queryer) *changeSchema {
	return &changeSchema{db: db, q: q, tables: map[string]*changeTable{}}
}

// check validates c and gives its table's columns; the error names the
// change.
func (s *changeSchema) check(ctx context.Context, c Change) (*changeTable, error) {
	if !IsCopyTable(c.Table) {
		return nil, apperr.Errorf(apperr.Invalid, "change %d: %s is not a tenant table of this installation", c.Seq, c.Table)
	}
	if !IsCaptured(c.Table) {
		return nil, apperr.Errorf(apperr.Invalid, "change %d: changes to %s are not replayed", c.Seq, c.Table)
	}
	ct := s.tables[c.Table]
	if ct == nil {
		cols, err := s.db.columns(ctx, s.q, c.Table)
		if err != nil {
			return nil, err
		}
		ct = &changeTable{cols: cols, types: make(map[string]Column, len(cols))}
		for _, col := range cols {
			ct.types[col.Name] = col
		}
		s.tables[c.Table] = ct
	}
	for name := range c.Row {
		if _, ok := ct.types[name]; !ok {
			return nil, apperr.Errorf(apperr.Invalid, "change %d: %s: column %s does not exist in this installation's schema", c.Seq, c.Table, name)
		}
	}
	return ct, nil
}

// changeValue is c's value of col, converted for a statement.
func changeValue(c Change, col Column) (any, error) {
	v, err := fromArchive(col.Type, changeNumber(c.Row[col.Name]))
	if err != nil {
		return nil, apperr.Errorf(apperr.Invalid, "change %d: %s.%s: %v", c.Seq, c.Table, col.Name, err)
	}
	return v, nil
}

// PruneChanges deletes the changes of restaurantID that an archive read at
// held already holds: a restore starting from that archive, or from a later
// one, never needs them. Cleanup prunes up to the oldest backup it keeps.
func (db *DB) PruneChanges(ctx context.Context, restaurantID string, held LogPosition) (int64, error) {
	if !ValidID(restaurantID) {
		return 0, apperr.Errorf(apperr.NotFound, "restaurant not found")
	}
	if held.Engine != db.Engine {
		return 0, apperr.Errorf(apperr.Invalid, "the log position is one of %s, not of this %s database", held.Engine, db.Engine)
	}
	query, args := db.dialect.pruneQuery(restaurantID, held)
	res, err := db.sql.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, fmt.Errorf("store: prune the change log: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// logReaderKey carries the connection ChangesSince reads the log on.
type logReaderKey struct{ db *DB }

// withLogReader has db's ChangesSince read the log on conn, under ctx.
func withLogReader(ctx context.Context, db *DB, conn *sql.Conn) context.Context {
	return context.WithValue(ctx, logReaderKey{db}, conn)
}

// logReader is where ChangesSince reads: the connection an import took for
// it, or the pool.
func (db *DB) logReader(ctx context.Context) queryer {
	if conn, ok := ctx.Value(logReaderKey{db}).(*sql.Conn); ok {
		return conn
	}
	return db.sql
}
