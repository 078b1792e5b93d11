package storetest

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"testing"

	"github.com/shimizu-tech/ordersuite/internal/store"
)

// BenchmarkReuseCopy is what a PostgreSQL test pays for its own migrated
// database when an earlier test's copy is emptied for it.
func BenchmarkReuseCopy(b *testing.B) {
	if URL() == "" {
		b.Skip("PostgreSQL only")
	}
	d, err := plain.acquire() // builds the template once
	if err != nil {
		b.Fatal(err)
	}
	plain.release(d)
	for b.Loop() {
		d, err := plain.acquire()
		if err != nil {
			b.Fatal(err)
		}
		plain.release(d)
	}
}

// BenchmarkNewCopy is the same when no copy is free: copy the template,
// drop the copy afterwards.
func BenchmarkNewCopy(b *testing.B) {
	if URL() == "" {
		b.Skip("PostgreSQL only")
	}
	d, err := plain.acquire() // builds the template once
	if err != nil {
		b.Fatal(err)
	}
	plain.release(d)
	for b.Loop() {
		d, err := plain.newCopy(context.Background(), URL())
		if err != nil {
			b.Fatal(err)
		}
		d.drop(URL())
	}
}

// BenchmarkMigrateFresh is the same database made by migrating an empty
// schema, as every PostgreSQL test did before templates.
func BenchmarkMigrateFresh(b *testing.B) {
	if URL() == "" {
		b.Skip("PostgreSQL only")
	}
	ctx := context.Background()
	admin, err := sql.Open("pgx", URL())
	if err != nil {
		b.Fatal(err)
	}
	defer admin.Close()
	for i := 0; b.Loop(); i++ {
		schema := fmt.Sprintf("bench_%d_%d", os.Getpid(), i)
		if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
			b.Fatal(err)
		}
		db, err := store.Open(ctx, WithSearchPath(URL(), schema), store.Options{PGSearchPath: schema})
		if err != nil {
			b.Fatal(err)
		}
		err = db.Migrate(ctx)
		db.Close()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := admin.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			b.Fatal(err)
		}
	}
}

// TestOpenIsolatesTests: two tests' databases do not share rows.
func TestOpenIsolatesTests(t *testing.T) {
	ctx := context.Background()
	a, b := Open(t), Open(t)
	if _, err := a.CreateRestaurant(ctx, "Only in A", "ONA"); err != nil {
		t.Fatal(err)
	}
	list, err := b.Restaurants(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 0 {
		t.Fatalf("a fresh test database holds %d restaurants of another test", len(list))
	}
}

// TestReusedCopyIsEmpty: rows a test wrote are gone for the next test that
// gets the same copy (under another name), however the copy was emptied
// last (every table, or those written since), rows written by a connection
// the last test left open included; rows of the template a test deleted or
// truncated are back; that connection cannot reach the copy; and a copy
// whose schema changed is not reused.
func TestReusedCopyIsEmpty(t *testing.T) {
	if URL() == "" {
		t.Skip("PostgreSQL only: SQLite tests get a new file each")
	}
	ctx := context.Background()
	oid := func(db *store.DB) int64 {
		var id int64
		if err := db.SQL().QueryRowContext(ctx, "SELECT oid FROM pg_database WHERE datname = current_database()").Scan(&id); err != nil {
			t.Fatal(err)
		}
		return id
	}
	var first int64
	seededRows := func(db *store.DB) string {
		var goose, river int
		if err := db.SQL().QueryRowContext(ctx, "SELECT (SELECT count(*) FROM goose_db_version), (SELECT count(*) FROM river_migration)").Scan(&goose, &river); err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("%d goose_db_version rows, %d river_migration rows", goose, river)
	}
	var seeded string
	// What each round's test does to the template's rows.
	changeSeeded := []string{"", "TRUNCATE river_migration", "DELETE FROM goose_db_version WHERE version_id > 0"}
	for round := range 3 {
		var leaked *sql.DB
		t.Run(fmt.Sprintf("writes %d", round), func(t *testing.T) {
			renewed()
			url, db := OpenWithURL(t)
			if round == 0 {
				first = oid(db)
				seeded = seededRows(db)
			} else if oid(db) != first {
				t.Fatal("the copy the last test released was not reused")
			}
			if _, err := db.CreateRestaurant(ctx, "Left Behind", fmt.Sprintf("LB%d", round)); err != nil {
				t.Fatal(err)
			}
			var err error
			if leaked, err = sql.Open("pgx", url); err != nil { // never closed by the test
				t.Fatal(err)
			}
			// A write of a session still open when the test ends, to a table
			// the test's own pool did not write to.
			if _, err := leaked.ExecContext(ctx, "INSERT INTO revoked_tokens (jti, expires_at) VALUES (gen_random_uuid(), now())"); err != nil {
				t.Fatal(err)
			}
			if stmt := changeSeeded[round]; stmt != "" {
				if _, err := leaked.ExecContext(ctx, stmt); err != nil {
					t.Fatal(err)
				}
				if seededRows(db) == seeded {
					t.Fatalf("%s changed nothing", stmt)
				}
			}
		})
		defer leaked.Close()
		t.Run(fmt.Sprintf("reads %d", round), func(t *testing.T) {
			renewed()
			db := Open(t)
			if oid(db) != first {
				t.Fatal("the copy the last test released was not reused")
			}
			list, err := db.Restaurants(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(list) != 0 {
				t.Fatalf("reused copy holds %d restaurants of the previous test", len(list))
			}
			var revoked int
			if err := db.SQL().QueryRowContext(ctx, "SELECT count(*) FROM revoked_tokens").Scan(&revoked); err != nil || revoked != 0 {
				t.Fatalf("reused copy holds %d revoked tokens of the previous test (%v)", revoked, err)
			}
			if got := seededRows(db); got != seeded {
				t.Fatalf("the template's rows: %s after the reset, %s in the template", got, seeded)
			}
			if _, err := leaked.ExecContext(ctx, "SELECT 1"); err == nil {
				t.Fatal("a connection left by the last test reaches the copy a new test uses")
			}
		})
	}
	t.Run("changes the schema", func(t *testing.T) {
		renewed()
		db := Open(t)
		if oid(db) != first {
			t.Fatal("the copy the last test released was not reused")
		}
		if _, err := db.SQL().ExecContext(ctx, "CREATE TABLE scratch (x INT)"); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("gets a clean schema", func(t *testing.T) {
		renewed()
		db := Open(t)
		if oid(db) == first {
			t.Fatal("a copy whose schema a test changed was reused")
		}
		var exists bool
		if err := db.SQL().QueryRowContext(ctx, "SELECT to_regclass('scratch') IS NOT NULL").Scan(&exists); err != nil || exists {
			t.Fatalf("scratch table visible: %v %v", exists, err)
		}
	})
}

// renewed waits until every copy released so far is ready again, so that the
// next test gets the copy released last.
func renewed() {
	plain.free.Lock()
	for plain.free.renewing > 0 {
		plain.free.cond.Wait()
	}
	plain.free.Unlock()
}
