package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// openEngine opens a fresh, migrated database on the engine under test
// (storetest cannot be used inside the package: it imports it).
func openEngine(t testing.TB) *DB {
	t.Helper()
	ctx := context.Background()
	url, opts := filepath.Join(t.TempDir(), "dialect.db"), Options{}
	if pg := os.Getenv("TEST_DATABASE_URL"); pg != "" {
		admin, err := Open(ctx, pg, Options{})
		if err != nil {
			t.Fatal(err)
		}
		schema := fmt.Sprintf("dialect_%d_%d", os.Getpid(), time.Now().UnixNano())
		if _, err := admin.sql.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			admin.sql.Exec("DROP SCHEMA " + schema + " CASCADE") //nolint:errcheck // best effort
			admin.Close()
		})
		url, opts = pg, Options{PGSearchPath: schema}
	}
	db, err := Open(ctx, url, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return db
}

// TestDialectClassifiesErrorsByCode holds each engine's reading of its
// driver's error codes to the failures the product acts on.
func TestDialectClassifiesErrorsByCode(t *testing.T) {
	t.Parallel()
	db := openEngine(t)
	ctx := context.Background()
	now := db.Now()
	rid, other := NewID(), NewID()
	for _, id := range []string{rid, other} {
		if _, err := db.sql.ExecContext(ctx, `INSERT INTO restaurants (id, name, prefix, created_at, updated_at) VALUES ($1, 'R', $2, $3, $3)`,
			id, "R"+id[len(id)-4:], now); err != nil {
			t.Fatal(err)
		}
	}
	cat := NewID()
	insertCategory := func(restaurantID, id string) error {
		_, err := db.sql.ExecContext(ctx, `INSERT INTO menu_categories (restaurant_id, id, name, created_at, updated_at) VALUES ($1, $2, 'Mains', $3, $3)`,
			restaurantID, id, now)
		return err
	}
	if err := insertCategory(rid, cat); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		err  func() error
		want failure
	}{
		{"unique", func() error { return insertCategory(rid, cat) }, failUnique},
		{"foreign key", func() error {
			_, err := db.sql.ExecContext(ctx, `INSERT INTO menu_items (restaurant_id, id, category_id, name, price_cents, created_at, updated_at)
				VALUES ($1, $2, $3, 'Ramen', 1200, $4, $4)`, other, NewID(), cat, now)
			return err
		}, failForeignKey},
		{"check", func() error {
			_, err := db.sql.ExecContext(ctx, `INSERT INTO menu_items (restaurant_id, id, category_id, name, price_cents, created_at, updated_at)
				VALUES ($1, $2, $3, 'Ramen', -1, $4, $4)`, rid, NewID(), cat, now)
			return err
		}, failCheck},
		{"missing table", func() error {
			_, err := db.sql.ExecContext(ctx, `SELECT COUNT(*) FROM no_such_table`)
			return err
		}, failMissingTableOrOther(db)},
		{"not a database error", func() error { return errors.New("something else") }, failOther},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.err()
			if err == nil {
				t.Fatal("the statement succeeded")
			}
			if got := db.failure(fmt.Errorf("wrapped: %w", err)); got != tc.want {
				t.Errorf("%v classified as %d, want %d", err, got, tc.want)
			}
		})
	}
	t.Run("missing table via the catalog", func(t *testing.T) {
		_, err := db.sql.ExecContext(ctx, `SELECT COUNT(*) FROM no_such_table`)
		if !db.isMissingTable(ctx, err, "no_such_table") {
			t.Errorf("%v not recognised as a missing table", err)
		}
		if db.isMissingTable(ctx, errors.New("other"), "orders") {
			t.Error("an error on an existing table taken for a missing table")
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		_, err := Open(ctx, "postgres://nobody@127.0.0.1:1/none?connect_timeout=2", Options{})
		if err == nil {
			t.Fatal("connected to a closed port")
		}
		if got := (postgresDialect{}).classify(err); got != failUnavailable {
			t.Errorf("%v classified as %d, want unavailable", err, got)
		}
		if !db.IsUnavailable(db.dbError(sql.ErrConnDone, "read", "order")) {
			t.Error("a lost connection is not reported as unavailable")
		}
	})
}

// failMissingTableOrOther is what each engine's codes can tell of a
// missing table: PostgreSQL has a SQLSTATE for it, SQLite only a generic
// error (isMissingTable then asks the catalog).
func failMissingTableOrOther(db *DB) failure {
	if db.dialect.engine() == Postgres {
		return failMissingTable
	}
	return failOther
}
