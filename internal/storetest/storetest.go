// Package storetest gives each test a fresh, migrated database on the engine
// under test: SQLite by default (a new file per test), PostgreSQL when
// TEST_DATABASE_URL is set (a database of its own per test, copied from a
// migrated template; see template.go). The whole suite runs once per engine,
// so the two cannot drift.
package storetest

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver for schema setup

	"github.com/shimizu-tech/ordersuite/internal/faultproxy"
	"github.com/shimizu-tech/ordersuite/internal/jobs"
	"github.com/shimizu-tech/ordersuite/internal/store"
)

// URL is the PostgreSQL server under test, empty for SQLite.
//
// A server on this host is reached without TLS unless the URL asks for it
// (sslmode): the driver's default negotiates TLS on every connection, a
// handshake that cost both sides more CPU than the test work of a short test.
func URL() string { return withoutLoopbackTLS(os.Getenv("TEST_DATABASE_URL")) }

func withoutLoopbackTLS(pgURL string) string {
	u, err := url.Parse(pgURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Query().Has("sslmode") {
		return pgURL
	}
	switch u.Hostname() {
	case "127.0.0.1", "::1", "localhost":
	default:
		return pgURL
	}
	q := u.Query()
	q.Set("sslmode", "disable")
	u.RawQuery = q.Encode()
	return u.String()
}

var schemaSeq atomic.Int64

// Open returns a migrated database that lives as long as the test.
func Open(tb testing.TB) *store.DB {
	tb.Helper()
	return OpenWithClock(tb, nil)
}

// OpenWithClock is Open with an injected clock.
func OpenWithClock(tb testing.TB, now func() time.Time) *store.DB {
	tb.Helper()
	_, db := migrated(tb, now)
	return db
}

// OpenWithURL is Open that also returns how to open the same database from
// a URL alone, for tests that run the command line against it.
func OpenWithURL(tb testing.TB) (string, *store.DB) {
	tb.Helper()
	return migrated(tb, nil)
}

func migrated(tb testing.TB, now func() time.Time) (string, *store.DB) {
	tb.Helper()
	if URL() != "" {
		url, opts := copyTemplate(tb)
		opts.Now = now
		return url, open(tb, url, opts)
	}
	url := filepath.Join(tb.TempDir(), "test.db")
	if err := os.WriteFile(url, sqliteTemplate(tb), 0o600); err != nil {
		tb.Fatalf("copy the migrated SQLite database: %v", err)
	}
	return url, open(tb, url, store.Options{Now: now})
}

// sqliteTemplate is a migrated SQLite database file, made once per test
// binary and copied for each test: writing a file is far cheaper than
// running the migrations, above all under the race detector, where SQLite
// (a pure Go build) runs instrumented.
var sqliteTemplate = sqliteFile(nil, nil)

// sqliteFile returns the bytes of a SQLite database made on first use:
// migrated, or, when fill is not nil, a copy of base (a migrated file) that
// fill then wrote to.
func sqliteFile(base func(testing.TB) []byte, fill func(ctx context.Context, path string) error) func(testing.TB) []byte {
	var (
		once sync.Once
		file []byte
		err  error
	)
	return func(tb testing.TB) []byte {
		tb.Helper()
		once.Do(func() {
			var dir string
			if dir, err = os.MkdirTemp("", "ordersuite-sqlite-template-"); err != nil {
				return
			}
			defer os.RemoveAll(dir)
			path := filepath.Join(dir, "template.db")
			ctx := context.Background()
			if fill != nil {
				if err = os.WriteFile(path, base(tb), 0o600); err != nil {
					return
				}
			}
			var db *store.DB
			if db, err = store.Open(ctx, path, store.Options{}); err != nil {
				return
			}
			if fill == nil {
				err = db.Migrate(ctx)
				if err == nil {
					err = jobs.Migrate(ctx, db) // as `ordersuite migrate` does, and as the PostgreSQL template has
				}
			} else {
				err = fill(ctx, path)
			}
			if err == nil {
				_, err = db.SQL().ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)") // all of it in the one file
			}
			if cerr := db.Close(); err == nil {
				err = cerr
			}
			if err == nil {
				file, err = os.ReadFile(path)
			}
		})
		if err != nil {
			tb.Fatalf("make the SQLite template database: %v", err)
		}
		return file
	}
}

func open(tb testing.TB, url string, opts store.Options) *store.DB {
	tb.Helper()
	db, err := store.Open(context.Background(), url, opts)
	if err != nil {
		tb.Fatalf("open test database: %v", err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// NewMigratedDatabase makes a database at the newest schema version for the
// test and returns how to open it, for tests that open it more than once
// (several instances, the command line).
//
// On PostgreSQL it is a copy of a template database migrated once per set of
// migrations (CREATE DATABASE … TEMPLATE), several times cheaper than
// migrating a fresh schema per test; each test still has a database of its own.
func NewMigratedDatabase(tb testing.TB) (string, store.Options) {
	tb.Helper()
	if URL() == "" {
		url, _ := migrated(tb, nil)
		return url, store.Options{}
	}
	return copyTemplate(tb)
}

// NewDatabase makes an empty database for the test and returns how to open
// it (tests of migrations and of the CLI open it themselves).
func NewDatabase(tb testing.TB) (string, store.Options) {
	tb.Helper()
	pg := URL()
	if pg == "" {
		return filepath.Join(tb.TempDir(), "test.db"), store.Options{}
	}
	schema := fmt.Sprintf("t_%d_%d_%d", os.Getpid(), time.Now().UnixNano()%1e9, schemaSeq.Add(1))
	admin, err := sql.Open("pgx", pg)
	if err != nil {
		tb.Fatalf("TEST_DATABASE_URL: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		admin.Close()
		tb.Fatalf("PostgreSQL at TEST_DATABASE_URL is not usable: %v", err)
	}
	tb.Cleanup(func() {
		defer admin.Close()
		if _, err := admin.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			tb.Logf("drop test schema %s: %v", schema, err)
		}
	})
	return WithSearchPath(pg, schema), store.Options{PGSearchPath: schema}
}

// WithSearchPath returns a PostgreSQL URL whose connections use schema, for
// code that opens the database from a URL alone (the CLI).
func WithSearchPath(pgURL, schema string) string {
	sep := "?"
	if strings.Contains(pgURL, "?") {
		sep = "&"
	}
	return pgURL + sep + "search_path=" + schema
}

// OpenBehindProxy returns one migrated PostgreSQL database opened twice:
// directly, for the test's own setup and checks, and through a fault proxy
// (for the code under test) that can cut, stall and restore its connection
// while the test runs. On SQLite, which has no connection to cut, it skips
// the test.
func OpenBehindProxy(tb testing.TB) (direct, proxied *store.DB, p *faultproxy.Proxy) {
	tb.Helper()
	if URL() == "" {
		tb.Skip("a database connection to cut needs PostgreSQL (TEST_DATABASE_URL)")
	}
	ctx := context.Background()
	url, opts := copyTemplate(tb)
	direct, err := store.Open(ctx, url, opts)
	if err != nil {
		tb.Fatalf("open test database: %v", err)
	}
	tb.Cleanup(func() { direct.Close() })
	p, proxiedURL := faultproxy.ForDatabaseURL(tb, url)
	proxied, err = store.Open(ctx, proxiedURL, opts)
	if err != nil {
		tb.Fatalf("open test database through the proxy: %v", err)
	}
	tb.Cleanup(func() { proxied.Close() })
	return direct, proxied, p
}
