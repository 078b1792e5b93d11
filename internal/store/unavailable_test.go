package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/shimizu-tech/ordersuite/internal/faultproxy"
)

// TestUnavailableClassifiesRealDriverErrors produces, for real wherever the
// engine allows, each way a database can be missing or refuse work, and
// holds Unavailable (and the DB's IsUnavailable) to recognising all of
// them — and to recognising none of the errors that mean a bug or bad
// input, which must stay 500s and 4xxs.
func TestUnavailableClassifiesRealDriverErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	type errCase struct {
		name        string
		err         func(t *testing.T) error
		unavailable bool
	}
	cases := []errCase{
		{"sqlite busy beyond the busy timeout (write lock held)", sqliteBusy, true},
		{"sqlite syntax error", func(t *testing.T) error {
			db := openSQLiteFile(t, filepath.Join(t.TempDir(), "s.db"), 100)
			_, err := db.ExecContext(ctx, `SELEC 1`)
			return err
		}, false},
		{"sqlite unique violation", func(t *testing.T) error {
			db := openSQLiteFile(t, filepath.Join(t.TempDir(), "u.db"), 100)
			if _, err := db.ExecContext(ctx, `CREATE TABLE t (id INTEGER PRIMARY KEY)`); err != nil {
				t.Fatal(err)
			}
			_, err := db.ExecContext(ctx, `INSERT INTO t VALUES (1), (1)`)
			return err
		}, false},
		{"a plain error", func(*testing.T) error { return errors.New("nil pointer somewhere") }, false},
		{"a request cancelled by its client", func(*testing.T) error { return context.Canceled }, false},
		{"postgres refuses 57P03 (cannot connect now; only seen while the server starts, so built)", func(*testing.T) error {
			return &pgconn.PgError{Code: "57P03", Message: "the database system is starting up"}
		}, true},
	}
	if pg := os.Getenv("TEST_DATABASE_URL"); pg != "" {
		cases = append(cases,
			errCase{"postgres connect to a closed port", func(t *testing.T) error {
				_, err := Open(ctx, "postgres://nobody@127.0.0.1:1/none?connect_timeout=2", Options{})
				return err
			}, true},
			errCase{"postgres pooled connection cut", func(t *testing.T) error {
				db, p := openProxied(t, pg)
				p.Cut()
				_, err := db.sql.ExecContext(ctx, `SELECT 1`)
				return err
			}, true},
			errCase{"postgres query in flight when the connection is cut", func(t *testing.T) error {
				db, p := openProxied(t, pg)
				time.AfterFunc(150*time.Millisecond, p.Cut)
				_, err := db.sql.ExecContext(ctx, `SELECT pg_sleep(2)`)
				return err
			}, true},
			errCase{"postgres transaction whose connection was cut", func(t *testing.T) error {
				db, p := openProxied(t, pg)
				tx, err := db.pool.Begin(ctx)
				if err != nil {
					t.Fatal(err)
				}
				p.Cut()
				if _, err := tx.Exec(ctx, `SELECT 1`); err == nil {
					t.Fatal("a statement passed the cut")
				}
				return tx.Commit(ctx)
			}, true},
			errCase{"postgres new connection refused after a cut", func(t *testing.T) error {
				db, p := openProxied(t, pg)
				p.Cut()
				db.pool.Reset() // no idle connection left: the next one must be dialled
				_, err := db.sql.ExecContext(ctx, `SELECT 1`)
				return err
			}, true},
			errCase{"postgres stalled past the deadline", func(t *testing.T) error {
				db, p := openProxied(t, pg)
				p.Stall()
				defer p.Restore() //nolint:errcheck // the proxy closes with the test
				qctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
				defer cancel()
				_, err := db.sql.ExecContext(qctx, `SELECT 1`)
				return err
			}, true},
			errCase{"postgres 57P01 (administrator terminated the connection)", func(t *testing.T) error {
				db := openPlain(t, pg)
				conn, err := db.sql.Conn(ctx)
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close()
				var pid int
				if err := conn.QueryRowContext(ctx, `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
					t.Fatal(err)
				}
				other := openPlain(t, pg)
				if _, err := other.sql.ExecContext(ctx, `SELECT pg_terminate_backend($1)`, pid); err != nil {
					t.Fatal(err)
				}
				time.Sleep(100 * time.Millisecond)
				_, err = conn.ExecContext(ctx, `SELECT 1`)
				return err
			}, true},
			errCase{"postgres 53300 (too many connections for the role)", func(t *testing.T) error {
				admin := openPlain(t, pg)
				role := fmt.Sprintf("outage_%d_%d", os.Getpid(), time.Now().UnixNano()%1e9)
				if _, err := admin.sql.ExecContext(ctx, `CREATE ROLE `+role+` LOGIN CONNECTION LIMIT 0`); err != nil {
					t.Skipf("cannot create a role to exhaust: %v", err)
				}
				t.Cleanup(func() { admin.sql.Exec(`DROP ROLE ` + role) }) //nolint:errcheck // best effort
				u, _ := url.Parse(pg)
				u.User = url.User(role)
				_, err := Open(ctx, u.String(), Options{})
				return err
			}, true},
			errCase{"postgres closed pool", func(t *testing.T) error {
				db := openPlain(t, pg)
				db.pool.Close()
				_, err := db.pool.Exec(ctx, `SELECT 1`)
				return err
			}, true},
			errCase{"postgres syntax error", func(t *testing.T) error {
				_, err := openPlain(t, pg).sql.ExecContext(ctx, `SELEC 1`)
				return err
			}, false},
			errCase{"postgres division by zero", func(t *testing.T) error {
				_, err := openPlain(t, pg).sql.ExecContext(ctx, `SELECT 1/0`)
				return err
			}, false},
		)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.err(t)
			if err == nil {
				t.Fatal("no error was produced")
			}
			wrapped := fmt.Errorf("store: read orders: %w", err)
			if got := Unavailable(wrapped); got != tc.unavailable {
				t.Errorf("Unavailable(%v) = %v, want %v", err, got, tc.unavailable)
			}
			// A DB of either engine reads it the same way.
			db := &DB{dialect: sqliteDialect{}}
			if os.Getenv("TEST_DATABASE_URL") != "" {
				db.dialect = postgresDialect{}
			}
			if tc.unavailable && !Unavailable(db.dbError(err, "read", "order")) {
				t.Errorf("dbError lost the unavailable mark of %v", err)
			}
		})
	}
}

// sqliteBusy holds the write lock of a SQLite file in one connection and
// writes from another whose busy timeout runs out.
func sqliteBusy(t *testing.T) error {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "busy.db")
	holder := openSQLiteFile(t, path, 100)
	if _, err := holder.ExecContext(ctx, `CREATE TABLE t (id INTEGER)`); err != nil {
		t.Fatal(err)
	}
	tx, err := holder.BeginTx(ctx, nil) // immediate: takes the write lock now
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback() //nolint:errcheck // only held
	if _, err := tx.ExecContext(ctx, `INSERT INTO t VALUES (1)`); err != nil {
		t.Fatal(err)
	}
	other := openSQLiteFile(t, path, 100)
	_, err = other.ExecContext(ctx, `INSERT INTO t VALUES (2)`)
	return err
}

func openSQLiteFile(t *testing.T, path string, busyMillis int) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", fmt.Sprintf("file:%s?_pragma=journal_mode(WAL)&_pragma=busy_timeout(%d)&_txlock=immediate", path, busyMillis))
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	return db
}

func openPlain(t *testing.T, pg string) *DB {
	t.Helper()
	db, err := Open(context.Background(), pg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// openProxied opens PostgreSQL through a fault proxy, with one connection
// already made and idle in the pool.
func openProxied(t *testing.T, pg string) (*DB, *faultproxy.Proxy) {
	t.Helper()
	p, proxied := faultproxy.ForDatabaseURL(t, pg)
	db := openPlain(t, proxied)
	if _, err := db.sql.ExecContext(context.Background(), `SELECT 1`); err != nil {
		t.Fatal(err)
	}
	return db, p
}
