package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// sqliteDialect is the embedded, single-installation engine: one file, one
// writer at a time, no other instance to tell of changes.
type sqliteDialect struct{}

// sqliteSettings are the connection settings every connection to the file
// uses, the product's and the job queue's alike. WAL lets readers proceed
// beside the writer; immediate transactions take the write lock up front so
// two writers queue on busy_timeout instead of deadlocking on a lock
// upgrade.
const sqliteSettings = "_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=synchronous(NORMAL)&_txlock=immediate"

// openSQLite opens the database file at path, creating its directory.
func openSQLite(ctx context.Context, path string, count *atomic.Int64, off *atomic.Bool, now func() time.Time) (*sql.DB, error) {
	if path == "" {
		return nil, errors.New("store: empty database path")
	}
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("store: create data directory: %w", err)
		}
	}
	// Foreign keys are off by default in SQLite; the product's time format
	// keeps timestamps as UTC text that sorts and compares as time.
	dsn := "file:" + path + "?" + sqliteSettings + "&_pragma=foreign_keys(1)&_time_format=sqlite"
	sqldb := sql.OpenDB(captureConnector{dsn: dsn, count: count, off: off, now: now})
	sqldb.SetMaxOpenConns(4)
	// Every connection kept idle: opening one reads the whole schema,
	// capture triggers included (one per table and operation, each naming
	// every column), and a new connection prepares its kept statements
	// again. With database/sql's default of two idle connections, the
	// third and fourth concurrent writers opened a connection per
	// transaction.
	sqldb.SetMaxIdleConns(4)
	if err := sqldb.PingContext(ctx); err != nil {
		sqldb.Close()
		return nil, fmt.Errorf("store: open sqlite %s: %w", path, err)
	}
	return sqldb, nil
}

// OpenSingleConnection opens another handle to the SQLite file, limited to
// one connection and with the store's locking settings, for a component
// that expects to be the only user of its connection (River's SQLite
// driver); WAL and the busy timeout let it and the store take turns. The
// caller closes it. On a database server there is no file to open.
func (db *DB) OpenSingleConnection() (*sql.DB, error) {
	if db.file == "" {
		return nil, errors.New("store: the database has no file")
	}
	sqldb, err := sql.Open("sqlite", "file:"+db.file+"?"+sqliteSettings)
	if err != nil {
		return nil, fmt.Errorf("store: open sqlite: %w", err)
	}
	sqldb.SetMaxOpenConns(1)
	return sqldb, nil
}

func (sqliteDialect) engine() Engine { return SQLite }

func (sqliteDialect) migrations() (goose.Dialect, string) {
	return goose.DialectSQLite3, "migrations/sqlite"
}

// lockClause is empty: transactions are immediate, so the writer already
// holds the database lock.
func (sqliteDialect) lockClause() string { return "" }

// placeholder is anonymous: SQLite resolves each $N by name through a
// linear list, which makes a 2,500-parameter statement cost more to prepare
// than to run.
func (sqliteDialect) placeholder(int) string { return "?" }

func (sqliteDialect) jsonNumber(field string) string {
	return fmt.Sprintf(`CASE WHEN json_type(event_data, '$.%[1]s') IN ('integer', 'real') THEN json_extract(event_data, '$.%[1]s') ELSE 0 END`, field)
}

func (sqliteDialect) jsonText(field string) string {
	return fmt.Sprintf(`json_extract(event_data, '$.%s')`, field)
}

func (sqliteDialect) hourUTC(column string) string {
	return `strftime('%Y-%m-%d %H:00:00+00:00', ` + column + `)`
}

func (sqliteDialect) dayUTC(column string) string {
	return `strftime('%Y-%m-%d', ` + column + `)`
}

func (sqliteDialect) columnsQuery() string {
	return `SELECT name, type FROM pragma_table_info($1) ORDER BY cid`
}

func (sqliteDialect) tableExists(ctx context.Context, q queryer, table string) (bool, error) {
	var n int
	err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = $1`, table).Scan(&n)
	return n > 0, err
}

// storageBytes shares the file's size out by the tenant's part of all rows:
// SQLite keeps no size per table.
func (sqliteDialect) storageBytes(ctx context.Context, db *DB, rows map[string]int64) (int64, error) {
	var tenantRows, allRows float64
	for _, n := range rows {
		tenantRows += float64(n)
	}
	ids, err := db.strings(ctx, `SELECT id FROM restaurants`)
	if err != nil {
		return 0, err
	}
	for _, table := range TenantTables {
		if table != "tenant_events" {
			var n int64
			if err := db.sql.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+table).Scan(&n); err != nil {
				return 0, err
			}
			allRows += float64(n)
			continue
		}
		for _, id := range ids {
			n, err := db.eventRows(ctx, id)
			if err != nil {
				return 0, err
			}
			allRows += float64(n)
		}
	}
	var pages, pageSize int64
	if err := db.sql.QueryRowContext(ctx, `SELECT page_count, page_size FROM pragma_page_count(), pragma_page_size()`).Scan(&pages, &pageSize); err != nil {
		return 0, err
	}
	if allRows == 0 {
		return 0, nil
	}
	return int64(float64(pages*pageSize) * tenantRows / allRows), nil
}

// beginSnapshot opens a deferred read transaction (a WAL snapshot that
// blocks no writer) on a dedicated connection: the pool opens immediate,
// write-locking transactions, and an export must not hold the write lock
// for its whole length.
func (sqliteDialect) beginSnapshot(ctx context.Context, db *DB) (queryer, func(), error) {
	conn, err := db.sql.Conn(ctx)
	if err != nil {
		return nil, nil, err
	}
	if _, err := conn.ExecContext(ctx, `BEGIN DEFERRED`); err != nil {
		conn.Close()
		return nil, nil, err
	}
	return conn, func() {
		conn.ExecContext(context.WithoutCancel(ctx), `ROLLBACK`) //nolint:errcheck // read-only
		conn.Close()
	}, nil
}

func (sqliteDialect) copiesInBulk() bool { return false }

// sqliteRowsPerInsert keeps a multi-row INSERT under SQLite's limit of
// 32766 bound parameters.
const sqliteRowsPerInsert = 500

func (d sqliteDialect) insertEvents(ctx context.Context, db *DB, events []TenantEvent, sums *rollupBatch) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		for start := 0; start < len(events); start += sqliteRowsPerInsert {
			chunk := events[start:min(start+sqliteRowsPerInsert, len(events))]
			q, args := multiRowInsert(d, `INSERT INTO tenant_events (restaurant_id, id, event_type, event_data, created_at) VALUES `, 5, len(chunk))
			for _, e := range chunk {
				args = append(args, e.RestaurantID, e.ID, e.Type, string(e.Data), e.CreatedAt)
			}
			// The connection keeps the statement prepared (captureConn), so
			// a full chunk, the usual case under load, does not parse its
			// 2 500 placeholders again. Nothing here may ask the pool for a
			// second connection: the other connections may all be waiting
			// for the write lock this transaction holds.
			if _, err := tx.ExecContext(ctx, q, args...); err != nil {
				return err
			}
		}
		return writeRollups(ctx, d, tx, sums)
	})
}

// lockRollups has nothing to do: every write transaction is immediate, so
// the rebuild's transaction already excludes the event writers.
func (sqliteDialect) lockRollups(context.Context, *sql.Tx) error { return nil }

func (sqliteDialect) modifyingCTEs() bool { return false }

func (sqliteDialect) supportsNotify() bool { return false }

func (sqliteDialect) notify(context.Context, *sql.Tx, string, string) error { return nil }

func (sqliteDialect) listen(context.Context, *DB, string, func(uint32), func(string)) error {
	return nil
}

// withInstanceLock runs fn at once: SQLite is one process's database.
func (sqliteDialect) withInstanceLock(ctx context.Context, _ *DB, _ int64, fn func(context.Context) error) error {
	return fn(ctx)
}

// classify reads SQLite's extended result codes (the driver turns them on
// for every connection).
func (sqliteDialect) classify(err error) failure {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		if errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) {
			return failUnavailable
		}
		return failOther
	}
	switch se.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return failUnique
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return failForeignKey
	case sqlite3.SQLITE_CONSTRAINT_CHECK:
		return failCheck
	}
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		return failBusy
	case sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL, sqlite3.SQLITE_READONLY:
		return failUnavailable
	}
	return failOther
}

func (sqliteDialect) foreignKeys(ctx context.Context, db *DB) (map[string][]ForeignKey, error) {
	out := map[string][]ForeignKey{}
	tables, err := db.Schema(ctx)
	if err != nil {
		return nil, err
	}
	for _, t := range tables {
		out[t.Name] = t.ForeignKeys
	}
	return out, nil
}

func (sqliteDialect) schema(ctx context.Context, db *DB) ([]TableInfo, error) {
	names, err := db.strings(ctx, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`)
	if err != nil {
		return nil, err
	}
	var out []TableInfo
	for _, name := range names {
		t := TableInfo{Name: name, Columns: map[string]bool{}}
		rows, err := db.sql.QueryContext(ctx, `SELECT name, "notnull", pk FROM pragma_table_info($1)`, name)
		if err != nil {
			return nil, err
		}
		pk := map[int]string{}
		for rows.Next() {
			var col string
			var notNull bool
			var pkPos int
			if err := rows.Scan(&col, &notNull, &pkPos); err != nil {
				rows.Close()
				return nil, err
			}
			t.Columns[col] = notNull
			if pkPos > 0 {
				pk[pkPos] = col
			}
		}
		rows.Close()
		for i := 1; i <= len(pk); i++ {
			t.PrimaryKey = append(t.PrimaryKey, pk[i])
		}
		rows, err = db.sql.QueryContext(ctx, `SELECT id, "table", "from", "to" FROM pragma_foreign_key_list($1) ORDER BY id, seq`, name)
		if err != nil {
			return nil, err
		}
		fks := map[int]*ForeignKey{}
		var order []int
		for rows.Next() {
			var id int
			var ref, from string
			var to *string
			if err := rows.Scan(&id, &ref, &from, &to); err != nil {
				rows.Close()
				return nil, err
			}
			fk, ok := fks[id]
			if !ok {
				fk = &ForeignKey{RefTable: ref}
				fks[id] = fk
				order = append(order, id)
			}
			fk.Columns = append(fk.Columns, from)
			if to != nil {
				fk.RefColumns = append(fk.RefColumns, *to)
			}
		}
		rows.Close()
		for _, id := range order {
			t.ForeignKeys = append(t.ForeignKeys, *fks[id])
		}
		idx, err := db.strings(ctx, `SELECT name FROM pragma_index_list($1) WHERE "unique" = 1 AND origin <> 'pk'`, name)
		if err != nil {
			return nil, err
		}
		for _, ix := range idx {
			cols, err := db.strings(ctx, `SELECT name FROM pragma_index_info($1) ORDER BY seqno`, ix)
			if err != nil {
				return nil, err
			}
			t.Uniques = append(t.Uniques, cols)
		}
		out = append(out, t)
	}
	return out, nil
}

func (sqliteDialect) catalog(ctx context.Context, db *DB) (map[string]CatalogTable, error) {
	return db.sqliteCatalog(ctx)
}
