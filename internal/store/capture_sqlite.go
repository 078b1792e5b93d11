package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"
)

// The change log on SQLite: three triggers per captured table, generated
// from the table's current columns (json_object over every column), made
// again when the columns change. SQLite has no transaction id or commit
// time a trigger can read, so the connection wrapper below bumps the
// one-row capture_clock at the start of every write transaction: a new
// transaction number and its moment (the Go clock, never going back). The
// triggers copy both into each change, and number each restaurant's changes
// after its highest number: with one writer at a time, that is commit order
// and the moments increase with it.

func sqliteTriggerName(table, op string) string { return "capture_" + table + "_" + op }

// sqliteTriggerSQL is the capture trigger of one operation on a table with
// the given columns. Its one statement numbers the change after the
// restaurant's highest number (the end of its key range: the log is a
// WITHOUT ROWID table keyed by restaurant and number, one b-tree to
// write); with one writer at a time that is commit order. An update is
// logged with the whole old row, and ChangesSince keeps the columns that
// changed (an update that changed nothing is dropped there): a trigger that
// compares every column costs every statement that prepares it.
func sqliteTriggerSQL(table string, cols []string, op string) string {
	image := func(prefix string) string {
		parts := make([]string, len(cols))
		for i, c := range cols {
			parts[i] = "'" + c + "', " + prefix + "." + quoteIdent(c)
		}
		return "json_object(" + strings.Join(parts, ", ") + ")"
	}
	key := quoteIdent(tenantKey(table))
	when := "(SELECT off FROM capture_clock WHERE id = 1) = 0"
	var row, old, rid string
	switch op {
	case "insert":
		row, old, rid = image("NEW"), "NULL", "NEW."+key
	case "update":
		row, old, rid = image("NEW"), image("OLD"), "NEW."+key
	case "delete":
		when += " AND EXISTS (SELECT 1 FROM restaurants WHERE id = OLD." + key + ")"
		row, old, rid = image("OLD"), "NULL", "OLD."+key
	}
	return `CREATE TRIGGER ` + sqliteTriggerName(table, op) + ` AFTER ` + strings.ToUpper(op) + ` ON ` + table + ` WHEN ` + when + ` BEGIN
INSERT INTO tenant_changes (restaurant_id, id, tx, changed_at, table_name, op, row_data, old_data)
VALUES (` + rid + `, COALESCE((SELECT id FROM tenant_changes WHERE restaurant_id = ` + rid + ` ORDER BY id DESC LIMIT 1), 0) + 1,
(SELECT tx FROM capture_clock WHERE id = 1), (SELECT at FROM capture_clock WHERE id = 1), '` + table + `', '` + op + `', ` + row + `, ` + old + `);
END`
}

// sqliteCaptureWanted is every capture trigger the catalog asks for, name
// → SQL.
func sqliteCaptureWanted(ctx context.Context, db *DB) (map[string]string, error) {
	want := map[string]string{}
	for _, table := range CapturedTables() {
		cols, err := db.columns(ctx, db.sql, table)
		if err != nil {
			return nil, err
		}
		names := make([]string, len(cols))
		for i, c := range cols {
			names[i] = c.Name
		}
		for _, op := range captureEvents(table) {
			want[sqliteTriggerName(table, op)] = sqliteTriggerSQL(table, names, op)
		}
	}
	return want, nil
}

func sqliteCaptureHave(ctx context.Context, db *DB) (map[string]string, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'capture\_%' ESCAPE '\'`)
	if err != nil {
		return nil, fmt.Errorf("store: capture triggers: %w", err)
	}
	defer rows.Close()
	have := map[string]string{}
	for rows.Next() {
		var name, sql string
		if err := rows.Scan(&name, &sql); err != nil {
			return nil, err
		}
		have[name] = sql
	}
	return have, rows.Err()
}

func (sqliteDialect) ensureCapture(ctx context.Context, db *DB) error {
	want, err := sqliteCaptureWanted(ctx, db)
	if err != nil {
		return err
	}
	have, err := sqliteCaptureHave(ctx, db)
	if err != nil {
		return err
	}
	var stmts []string
	for name, sql := range have {
		if want[name] != sql {
			stmts = append(stmts, `DROP TRIGGER `+quoteIdent(name))
		}
	}
	for name, sql := range want {
		if have[name] != sql {
			stmts = append(stmts, sql)
		}
	}
	if len(stmts) == 0 {
		return nil
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		for _, s := range stmts {
			if _, err := tx.ExecContext(ctx, s); err != nil {
				return fmt.Errorf("store: make the capture triggers: %w", err)
			}
		}
		return nil
	})
}

func (sqliteDialect) dropCapture(ctx context.Context, db *DB) error {
	have, err := sqliteCaptureHave(ctx, db)
	if err != nil {
		return err
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		for name := range have {
			if _, err := tx.ExecContext(ctx, `DROP TRIGGER `+quoteIdent(name)); err != nil {
				return fmt.Errorf("store: drop the capture triggers: %w", err)
			}
		}
		return nil
	})
}

func (sqliteDialect) captureProblems(ctx context.Context, db *DB) ([]string, error) {
	want, err := sqliteCaptureWanted(ctx, db)
	if err != nil {
		return nil, err
	}
	have, err := sqliteCaptureHave(ctx, db)
	if err != nil {
		return nil, err
	}
	var out []string
	for name, sql := range want {
		switch h, ok := have[name]; {
		case !ok:
			out = append(out, fmt.Sprintf("%s: captured table without its capture trigger %s", strings.SplitN(strings.TrimPrefix(name, "capture_"), "_", 2)[0], name))
		case h != sql:
			out = append(out, fmt.Sprintf("trigger %s does not match the table's columns (a column added or dropped since it was made)", name))
		}
	}
	for name := range have {
		if _, ok := want[name]; !ok {
			out = append(out, fmt.Sprintf("trigger %s is not one the catalog asks for (a table or an operation not captured)", name))
		}
	}
	return out, nil
}

// snapshotPosition is the restaurant's highest change number the snapshot
// sees: a restaurant's numbers grow with commit order, and its newest
// change is never pruned, so its later changes are numbered above it.
func (sqliteDialect) snapshotPosition(ctx context.Context, q queryer, restaurantID string) (LogPosition, error) {
	p := LogPosition{Engine: SQLite}
	if err := q.QueryRowContext(ctx, `SELECT COALESCE((SELECT id FROM tenant_changes WHERE restaurant_id = $1 ORDER BY id DESC LIMIT 1), 0)`, restaurantID).Scan(&p.Seq); err != nil {
		return p, fmt.Errorf("store: log position: %w", err)
	}
	// The clock may be behind the moments of transactions already
	// committed (they never go back): the later of the two.
	var last string
	if err := q.QueryRowContext(ctx, `SELECT at FROM capture_clock WHERE id = 1`).Scan(&last); err != nil {
		return p, fmt.Errorf("store: log position: %w", err)
	}
	p.At = time.Now().UTC().Truncate(time.Microsecond)
	if lt, err := logTime(last); err == nil && lt.After(p.At) {
		p.At = lt
	}
	return p, nil
}

// changesQuery reads the changes after the position's seq: moments
// increase with seq, so the cut at until is a prefix of whole transactions.
func (sqliteDialect) changesQuery(restaurantID string, from LogPosition, until time.Time) (string, []any) {
	return `SELECT id, tx, changed_at, table_name, op, row_data, old_data FROM tenant_changes
		WHERE restaurant_id = $1 AND id > $2 AND changed_at <= $3 ORDER BY id`, []any{restaurantID, from.Seq, logAt(until)}
}

func (sqliteDialect) suppressCapture(ctx context.Context, tx *sql.Tx, off bool) error {
	v := 0
	if off {
		v = 1
	}
	_, err := tx.ExecContext(ctx, `UPDATE capture_clock SET off = $1 WHERE id = 1`, v)
	return err
}

// logImport numbers the import above the restaurant's shipped seqs too: a
// deleted restaurant's log is deleted with it, and restored into the same
// id its numbers must not start again below what was shipped (the shipper
// reads each restaurant's log after its last segment's seq).
func (sqliteDialect) logImport(ctx context.Context, tx *sql.Tx, restaurantID string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO tenant_changes (restaurant_id, id, tx, changed_at, table_name, op, row_data)
		SELECT $1, max(COALESCE((SELECT id FROM tenant_changes WHERE restaurant_id = $1 ORDER BY id DESC LIMIT 1), 0),
			COALESCE((SELECT max_seq FROM change_segments WHERE restaurant_id = $1 ORDER BY number DESC LIMIT 1), 0)) + 1,
			tx, at, 'restaurants', 'import', '{}' FROM capture_clock WHERE id = 1`, restaurantID)
	return err
}

// captureConnector opens the SQLite connections of the store: every one
// bumps the capture clock at the start of a write transaction, and counts
// its statements when asked to (Options.CountStatements).
type captureConnector struct {
	dsn   string
	count *atomic.Int64 // nil: not counted
	off   *atomic.Bool  // capture turned off (SetCapture): no bump
	now   func() time.Time
}

func (c captureConnector) Connect(context.Context) (driver.Conn, error) {
	conn, err := (&sqlite.Driver{}).Open(c.dsn)
	if err != nil {
		return nil, err
	}
	return &captureConn{inner: conn.(sqliteConn), connector: c}, nil
}

func (c captureConnector) Driver() driver.Driver { return &sqlite.Driver{} }

// sqliteConn is what the SQLite driver's connections implement.
type sqliteConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
}

type captureConn struct {
	inner     sqliteConn
	connector captureConnector
	inTx      bool // a transaction is open on the connection
	// stmts are the statements Exec ran, kept prepared: preparing a write
	// compiles the capture triggers of its table into it, which cost more
	// than running them. SQLite prepares a kept statement again itself
	// when the schema changes.
	stmts map[string]driver.Stmt
	// reading marks the kept statements whose rows are open (a write
	// with RETURNING): running one again would reset them.
	reading map[driver.Stmt]bool
}

// maxKeptStmts bounds the statements a connection keeps prepared.
const maxKeptStmts = 256

// execKept runs q (no rows) as a kept prepared statement.
func (c *captureConn) execKept(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	st, err := c.kept(ctx, q)
	if err != nil {
		return nil, err
	}
	return st.(driver.StmtExecContext).ExecContext(ctx, args)
}

// kept returns q's kept prepared statement, preparing and keeping it on
// first use.
func (c *captureConn) kept(ctx context.Context, q string) (driver.Stmt, error) {
	if st, ok := c.stmts[q]; ok {
		return st, nil
	}
	st, err := c.inner.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	if len(c.stmts) >= maxKeptStmts {
		c.dropKept()
	}
	if c.stmts == nil {
		c.stmts = map[string]driver.Stmt{}
	}
	c.stmts[q] = st
	return st, nil
}

// queryKept runs q (a write that returns rows) as a kept prepared
// statement, or unprepared while the kept one's rows are still open.
func (c *captureConn) queryKept(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	if st, ok := c.stmts[q]; ok && c.reading[st] {
		return c.inner.QueryContext(ctx, q, args)
	}
	st, err := c.kept(ctx, q)
	if err != nil {
		return nil, err
	}
	rows, err := st.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		return nil, err
	}
	if c.reading == nil {
		c.reading = map[driver.Stmt]bool{}
	}
	c.reading[st] = true
	return &keptRows{Rows: rows, done: func() {
		delete(c.reading, st)
		if c.stmts[q] != st {
			st.Close() // dropped while its rows were open
		}
	}}, nil
}

// keptRows frees its kept statement for another run when closed.
type keptRows struct {
	driver.Rows
	done func()
}

func (r *keptRows) Close() error {
	err := r.Rows.Close()
	if r.done != nil {
		r.done()
		r.done = nil
	}
	return err
}

func (c *captureConn) dropKept() {
	for q, st := range c.stmts {
		if !c.reading[st] { // else closed when its rows are
			st.Close()
		}
		delete(c.stmts, q)
	}
}

func (c *captureConn) counted() {
	if c.connector.count != nil {
		c.connector.count.Add(1)
	}
}

// bump starts a new logged transaction in the one open on the connection.
func (c *captureConn) bump(ctx context.Context) error {
	if c.connector.off.Load() {
		return nil
	}
	_, err := c.execKept(ctx, `UPDATE capture_clock SET tx = tx + 1, at = max(at, ?) WHERE id = 1`,
		[]driver.NamedValue{{Ordinal: 1, Value: logAt(c.connector.now())}})
	if err != nil && strings.Contains(err.Error(), "no such table: capture_clock") {
		return nil // a schema migrated only up to before the change log
	}
	return err
}

func (c *captureConn) Prepare(q string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), q)
}

func (c *captureConn) Close() error {
	c.dropKept()
	return c.inner.Close()
}

// Begin is required by driver.Conn; database/sql calls BeginTx.
func (c *captureConn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

func (c *captureConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	c.counted()
	tx, err := c.inner.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	c.inTx = true
	if !opts.ReadOnly {
		if err := c.bump(ctx); err != nil {
			tx.Rollback() //nolint:errcheck // the bump's error is the one to report
			c.inTx = false
			return nil, fmt.Errorf("store: start a logged transaction: %w", err)
		}
	}
	return &captureTx{inner: tx, conn: c}, nil
}

type captureTx struct {
	inner driver.Tx
	conn  *captureConn
}

func (t *captureTx) Commit() error {
	t.conn.inTx = false
	return t.inner.Commit()
}

func (t *captureTx) Rollback() error {
	t.conn.inTx = false
	return t.inner.Rollback()
}

func (c *captureConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	st, err := c.inner.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	return &captureStmt{inner: st, conn: c, write: isWrite(q)}, nil
}

// firstWord is a statement's first keyword, upper-cased.
func firstWord(q string) string {
	q = strings.TrimLeft(q, " \t\r\n(")
	for strings.HasPrefix(q, "--") || strings.HasPrefix(q, "/*") {
		if strings.HasPrefix(q, "--") {
			i := strings.IndexByte(q, '\n')
			if i < 0 {
				return ""
			}
			q = q[i+1:]
		} else {
			i := strings.Index(q, "*/")
			if i < 0 {
				return ""
			}
			q = q[i+2:]
		}
		q = strings.TrimLeft(q, " \t\r\n(")
	}
	end := strings.IndexFunc(q, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	})
	if end < 0 {
		end = len(q)
	}
	return strings.ToUpper(q[:end])
}

// isWrite tells whether a statement may change rows.
func isWrite(q string) bool {
	switch firstWord(q) {
	case "INSERT", "UPDATE", "DELETE", "REPLACE", "WITH":
		return true
	}
	return false
}

// track follows transactions begun and ended by statements rather than by
// BeginTx (a snapshot's BEGIN DEFERRED).
func (c *captureConn) track(q string) {
	switch firstWord(q) {
	case "BEGIN":
		c.inTx = true
	case "COMMIT", "END", "ROLLBACK":
		if !strings.Contains(strings.ToUpper(q), " TO ") { // ROLLBACK TO a savepoint
			c.inTx = false
		}
	}
}

// autocommit runs a write outside any transaction as a logged transaction
// of its own: BEGIN IMMEDIATE, the bump, the statement; done ends it.
func (c *captureConn) autocommit(ctx context.Context) (done func(ok bool) error, err error) {
	if _, err := c.inner.ExecContext(ctx, `BEGIN IMMEDIATE`, nil); err != nil {
		return nil, err
	}
	c.inTx = true
	if err := c.bump(ctx); err != nil {
		c.inner.ExecContext(ctx, `ROLLBACK`, nil) //nolint:errcheck // the bump's error is the one to report
		c.inTx = false
		return nil, err
	}
	return func(ok bool) error {
		c.inTx = false
		end := `COMMIT`
		if !ok {
			end = `ROLLBACK`
		}
		_, err := c.inner.ExecContext(context.WithoutCancel(ctx), end, nil)
		return err
	}, nil
}

func (c *captureConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	c.counted()
	if !isWrite(q) {
		c.track(q)
		return c.inner.ExecContext(ctx, q, args)
	}
	if c.inTx {
		return c.execKept(ctx, q, args)
	}
	done, err := c.autocommit(ctx)
	if err != nil {
		return nil, err
	}
	res, err := c.execKept(ctx, q, args)
	if err != nil {
		done(false) //nolint:errcheck // the statement's error is the one to report
		return nil, err
	}
	return res, done(true)
}

func (c *captureConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	c.counted()
	if !isWrite(q) {
		c.track(q)
		return c.inner.QueryContext(ctx, q, args)
	}
	if c.inTx {
		return c.queryKept(ctx, q, args)
	}
	done, err := c.autocommit(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := c.queryKept(ctx, q, args)
	if err != nil {
		done(false) //nolint:errcheck // the statement's error is the one to report
		return nil, err
	}
	return &captureRows{Rows: rows, done: done}, nil
}

// captureRows ends the autocommit transaction of an INSERT … RETURNING when
// its rows are closed: committed when every row was read without error.
type captureRows struct {
	driver.Rows
	done   func(ok bool) error
	failed bool
	ended  bool
}

func (r *captureRows) Next(dest []driver.Value) error {
	err := r.Rows.Next(dest)
	if err != nil && !errors.Is(err, io.EOF) {
		r.failed = true
	}
	return err
}

func (r *captureRows) Close() error {
	err := r.Rows.Close()
	if !r.ended {
		r.ended = true
		if derr := r.done(err == nil && !r.failed); err == nil {
			err = derr
		}
	}
	return err
}

// captureStmt is a prepared statement: a write run outside a transaction
// is made a logged transaction as in ExecContext.
type captureStmt struct {
	inner driver.Stmt
	conn  *captureConn
	write bool
}

func (s *captureStmt) Close() error  { return s.inner.Close() }
func (s *captureStmt) NumInput() int { return s.inner.NumInput() }

func (s *captureStmt) Exec(args []driver.Value) (driver.Result, error) {
	return s.ExecContext(context.Background(), namedValues(args))
}

func (s *captureStmt) Query(args []driver.Value) (driver.Rows, error) {
	return s.QueryContext(context.Background(), namedValues(args))
}

func namedValues(args []driver.Value) []driver.NamedValue {
	out := make([]driver.NamedValue, len(args))
	for i, v := range args {
		out[i] = driver.NamedValue{Ordinal: i + 1, Value: v}
	}
	return out
}

func (s *captureStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	exec := s.inner.(driver.StmtExecContext)
	if s.conn.inTx || !s.write {
		return exec.ExecContext(ctx, args)
	}
	done, err := s.conn.autocommit(ctx)
	if err != nil {
		return nil, err
	}
	res, err := exec.ExecContext(ctx, args)
	if err != nil {
		done(false) //nolint:errcheck // the statement's error is the one to report
		return nil, err
	}
	return res, done(true)
}

func (s *captureStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	query := s.inner.(driver.StmtQueryContext)
	if s.conn.inTx || !s.write {
		return query.QueryContext(ctx, args)
	}
	done, err := s.conn.autocommit(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := query.QueryContext(ctx, args)
	if err != nil {
		done(false) //nolint:errcheck // the statement's error is the one to report
		return nil, err
	}
	return &captureRows{Rows: rows, done: done}, nil
}

// pruneQuery keeps the restaurant's newest change: later ones must be
// numbered above every position already read.
func (sqliteDialect) pruneQuery(restaurantID string, held LogPosition) (string, []any) {
	return `DELETE FROM tenant_changes WHERE restaurant_id = $1 AND id <= $2
		AND id < (SELECT id FROM tenant_changes WHERE restaurant_id = $1 ORDER BY id DESC LIMIT 1)`, []any{restaurantID, held.Seq}
}
