package store_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/shimizu-tech/ordersuite/internal/backup/archive"
	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/storetest"
)

// TestCatalogCoversEveryCopyTable: every copy table's columns, CHECK
// constraints and unique keys are read, and every CHECK is one archive
// validation can evaluate.
func TestCatalogCoversEveryCopyTable(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t)
	cat, err := db.Catalog(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	checks := 0
	for _, table := range store.CopyTables() {
		ct, ok := cat[table]
		if !ok || len(ct.Columns) == 0 {
			t.Fatalf("no catalog for %s", table)
		}
		if len(ct.Uniques) == 0 || !slices.Contains(ct.Uniques[0], "id") {
			t.Errorf("%s: no primary key among %v", table, ct.Uniques)
		}
		for _, expr := range ct.Checks {
			checks++
			if _, err := archive.ParseCheck(expr); err != nil {
				t.Errorf("%s: %v", table, err)
			}
		}
	}
	users := cat["users"]
	var role archive.Check
	for _, expr := range users.Checks {
		if c, err := archive.ParseCheck(expr); err == nil && slices.Equal(c.Columns, []string{"role"}) {
			role = c
		}
	}
	if got := role.Allowed("role"); !slices.Equal(got, []string{"admin", "staff", "customer"}) {
		t.Errorf("users.role allows %v", got)
	}
	if checks < 30 {
		t.Errorf("%d CHECK constraints read, the migrations have more than 30", checks)
	}
}

// TestCatalogAgreesAcrossEngines: the PostgreSQL catalog and the SQLite
// one describe the same columns, nullability, defaults, kinds (uuid, json,
// date — declared TEXT on SQLite), CHECK constraints and unique keys, so an
// archive validates alike on both.
func TestCatalogAgreesAcrossEngines(t *testing.T) {
	t.Parallel()
	if storetest.URL() == "" {
		t.Skip("needs TEST_DATABASE_URL (PostgreSQL) beside SQLite")
	}
	ctx := context.Background()
	pg, err := storetest.Open(t).Catalog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	lite, err := store.Open(ctx, filepath.Join(t.TempDir(), "cmp.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer lite.Close()
	if err := lite.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	sq, err := lite.Catalog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	describe := func(ct store.CatalogTable) (cols, checks, uniques []string) {
		for _, c := range ct.Columns {
			kind := string(c.Type)
			if c.UUID {
				kind = "uuid"
			}
			if c.JSON {
				kind = "json"
			}
			d := c.Name + " " + kind
			if c.NotNull {
				d += " not null"
			}
			if c.HasDefault {
				v, _ := archive.ParseLiteral(c.Default)
				if b, ok := v.(bool); ok { // SQLite spells FALSE as 0
					v = map[bool]int64{false: 0, true: 1}[b]
				}
				d += fmt.Sprintf(" default %v", v)
			}
			cols = append(cols, d)
		}
		for _, expr := range ct.Checks {
			c, err := archive.ParseCheck(expr)
			if err != nil {
				t.Fatal(err)
			}
			cols := append([]string{}, c.Columns...)
			sort.Strings(cols)
			checks = append(checks, strings.Join(cols, ","))
		}
		for _, u := range ct.Uniques {
			uniques = append(uniques, strings.Join(u, ","))
		}
		sort.Strings(checks)
		sort.Strings(uniques)
		return
	}
	for _, table := range store.CopyTables() {
		pc, pk, pu := describe(pg[table])
		sc, sk, su := describe(sq[table])
		for _, pair := range [][2][]string{{pc, sc}, {pk, sk}, {pu, su}} {
			if !slices.Equal(pair[0], pair[1]) {
				t.Errorf("%s differs:\nPostgreSQL %v\nSQLite     %v", table, pair[0], pair[1])
			}
		}
	}
}

func TestCheckClauses(t *testing.T) {
	t.Parallel()
	ddl := `CREATE TABLE t (
    a TEXT NOT NULL DEFAULT 'check (x)' CHECK (a IN ('x', 'it''s )')), -- check (in a comment)
    b INTEGER CHECK(b > 0) /* CHECK (b < 0) */,
    rechecked INTEGER,
    CHECK (b IS NULL OR (b < 10))
)`
	got := store.CheckClauses(ddl)
	want := []string{"(a IN ('x', 'it''s )'))", "(b > 0)", "(b IS NULL OR (b < 10))"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q", got)
	}
}
