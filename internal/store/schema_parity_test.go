package store_test

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/pressly/goose/v3"

	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/storetest"
)

// deliberateDifferences are the only ways the migrated schemas of the two
// engines may differ, each with its reason. A key is what schemaDifferences
// reports.
var deliberateDifferences = map[string]string{
	"goose_db_version.tstamp: NOT NULL on postgres, nullable on sqlite": "goose creates its own version table with each engine's DDL; the product only reads it",
	"table capture_clock: only on sqlite":                               "SQLite's change log takes its transaction number and moment from it; PostgreSQL has pg_current_xact_id() and clock_timestamp()",
}

// TestSchemaParity migrates both engines and holds their schemas to each
// other: the same tables, columns, nullability, primary keys, unique
// constraints and foreign keys, so the two migration sets cannot drift.
func TestSchemaParity(t *testing.T) {
	t.Parallel()
	pgURL, pgOpts := postgresDatabase(t)
	lite := schemaOf(t, migratedSQLite(t, nil))
	pg := schemaOf(t, openMigrated(t, pgURL, pgOpts))
	for _, d := range schemaDifferences(lite, pg) {
		if _, ok := deliberateDifferences[d]; !ok {
			t.Errorf("schemas differ: %s", d)
		}
	}
	for d := range deliberateDifferences {
		if !slices.Contains(schemaDifferences(lite, pg), d) {
			t.Errorf("listed deliberate difference no longer exists, remove it: %s", d)
		}
	}
}

// TestSchemaParityCatchesDivergentMigration is the test of the test: a
// migration applied to SQLite alone must show up, whichever part of the
// schema it changes.
func TestSchemaParityCatchesDivergentMigration(t *testing.T) {
	t.Parallel()
	pgURL, pgOpts := postgresDatabase(t)
	pg := schemaOf(t, openMigrated(t, pgURL, pgOpts))
	for _, tc := range []struct {
		name, up, want string
	}{
		{"table", `CREATE TABLE courier_runs (id TEXT PRIMARY KEY)`, "table courier_runs: only on sqlite"},
		{"column", `ALTER TABLE orders ADD COLUMN courier_note TEXT`, "orders.courier_note: only on sqlite"},
		{"nullability", apiKeysAs(`id TEXT NOT NULL PRIMARY KEY, name TEXT UNIQUE`, ""), "api_keys.name: NOT NULL on postgres, nullable on sqlite"},
		{"primary key", apiKeysAs(`id TEXT NOT NULL, name TEXT NOT NULL UNIQUE`, `, PRIMARY KEY (name, id)`), "api_keys: primary key (name, id) on sqlite, (id) on postgres"},
		{"unique", `CREATE UNIQUE INDEX orders_table_unique ON orders (restaurant_id, table_id, id)`, "orders: unique (restaurant_id, table_id, id) only on sqlite"},
		{"foreign key", `ALTER TABLE staff_members ADD COLUMN shift_lead_id TEXT REFERENCES users (id)`, "staff_members: foreign key (shift_lead_id) → users(id) only on sqlite"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lite := schemaOf(t, migratedSQLite(t, fstest.MapFS{
				"99990_divergent.sql": {Data: []byte("-- +goose Up\n-- +goose StatementBegin\n" + tc.up + ";\n-- +goose StatementEnd\n")},
			}))
			diffs := schemaDifferences(lite, pg)
			if !slices.Contains(diffs, tc.want) {
				t.Errorf("the parity check missed a divergent migration: want %q among %q", tc.want, diffs)
			}
		})
	}
}

// apiKeysAs replaces the api_keys table by one whose leading columns and
// trailing constraints are declared as given (SQLite cannot alter a column
// or a key in place).
func apiKeysAs(lead, constraints string) string {
	return `DROP TABLE api_keys; CREATE TABLE api_keys (` + lead + `, key_hash TEXT NOT NULL UNIQUE,
		created_at TIMESTAMP NOT NULL, last_used_at TIMESTAMP, revoked_at TIMESTAMP` + constraints + `)`
}

// postgresDatabase is a fresh PostgreSQL schema for the test; the parity
// tests need both engines, so without TEST_DATABASE_URL they skip.
func postgresDatabase(t *testing.T) (string, store.Options) {
	t.Helper()
	if storetest.URL() == "" {
		t.Skip("needs PostgreSQL beside SQLite: set TEST_DATABASE_URL")
	}
	return storetest.NewDatabase(t)
}

func openMigrated(t *testing.T, url string, opts store.Options) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), url, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db
}

// migratedSQLite migrates a fresh SQLite database with the product's
// SQLite migrations plus extra ones.
func migratedSQLite(t *testing.T, extra fstest.MapFS) *store.DB {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "parity.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	fsys := fstest.MapFS{}
	own := os.DirFS("migrations/sqlite")
	names, err := fs.Glob(own, "*.sql")
	if err != nil || len(names) == 0 {
		t.Fatalf("read SQLite migrations: %v (%d files)", err, len(names))
	}
	for _, name := range names {
		data, err := fs.ReadFile(own, name)
		if err != nil {
			t.Fatal(err)
		}
		fsys[name] = &fstest.MapFile{Data: data}
	}
	for name, f := range extra {
		fsys[name] = f
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db.SQL(), fsys)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Up(ctx); err != nil {
		t.Fatal(err)
	}
	return db
}

func schemaOf(t *testing.T, db *store.DB) []store.TableInfo {
	t.Helper()
	tables, err := db.Schema(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return tables
}

// schemaDifferences lists, sorted, every way the SQLite and PostgreSQL
// schemas differ. Primary key columns count as NOT NULL on both (SQLite
// reports a composite key's columns as nullable unless declared so;
// PostgreSQL always makes them NOT NULL).
func schemaDifferences(lite, pg []store.TableInfo) []string {
	var out []string
	byName := func(ts []store.TableInfo) map[string]store.TableInfo {
		m := map[string]store.TableInfo{}
		for _, t := range ts {
			m[t.Name] = t
		}
		return m
	}
	l, p := byName(lite), byName(pg)
	for name := range l {
		if _, ok := p[name]; !ok {
			out = append(out, fmt.Sprintf("table %s: only on sqlite", name))
		}
	}
	for name, pt := range p {
		lt, ok := l[name]
		if !ok {
			out = append(out, fmt.Sprintf("table %s: only on postgres", name))
			continue
		}
		out = append(out, tableDifferences(lt, pt)...)
	}
	sort.Strings(out)
	return out
}

func tableDifferences(lite, pg store.TableInfo) []string {
	var out []string
	notNull := func(t store.TableInfo, col string) bool {
		return t.Columns[col] || slices.Contains(t.PrimaryKey, col)
	}
	for col := range lite.Columns {
		if _, ok := pg.Columns[col]; !ok {
			out = append(out, fmt.Sprintf("%s.%s: only on sqlite", lite.Name, col))
		}
	}
	for col := range pg.Columns {
		if _, ok := lite.Columns[col]; !ok {
			out = append(out, fmt.Sprintf("%s.%s: only on postgres", pg.Name, col))
			continue
		}
		switch l, p := notNull(lite, col), notNull(pg, col); {
		case l && !p:
			out = append(out, fmt.Sprintf("%s.%s: NOT NULL on sqlite, nullable on postgres", pg.Name, col))
		case p && !l:
			out = append(out, fmt.Sprintf("%s.%s: NOT NULL on postgres, nullable on sqlite", pg.Name, col))
		}
	}
	if !slices.Equal(lite.PrimaryKey, pg.PrimaryKey) {
		out = append(out, fmt.Sprintf("%s: primary key (%s) on sqlite, (%s) on postgres", pg.Name,
			strings.Join(lite.PrimaryKey, ", "), strings.Join(pg.PrimaryKey, ", ")))
	}
	onlyIn := func(a, b []string, what, engine string) {
		for _, x := range a {
			if !slices.Contains(b, x) {
				out = append(out, fmt.Sprintf("%s: %s %s only on %s", pg.Name, what, x, engine))
			}
		}
	}
	lu, pu := uniques(lite), uniques(pg)
	onlyIn(lu, pu, "unique", "sqlite")
	onlyIn(pu, lu, "unique", "postgres")
	lf, pf := foreignKeys(lite), foreignKeys(pg)
	onlyIn(lf, pf, "foreign key", "sqlite")
	onlyIn(pf, lf, "foreign key", "postgres")
	return out
}

func uniques(t store.TableInfo) []string {
	var out []string
	for _, u := range t.Uniques {
		out = append(out, "("+strings.Join(u, ", ")+")")
	}
	return out
}

func foreignKeys(t store.TableInfo) []string {
	var out []string
	for _, fk := range t.ForeignKeys {
		out = append(out, fk.String())
	}
	return out
}
