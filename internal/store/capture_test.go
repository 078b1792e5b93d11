package store_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/menu"
	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/storetest"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// TestCaptureCoversEveryCopyTable holds the migrated schema to the change
// log's rule: every copy table is captured by a trigger that sees all its
// columns, or excluded with a reason.
func TestCaptureCoversEveryCopyTable(t *testing.T) {
	db := storetest.Open(t)
	problems, err := db.CaptureProblems(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}
	for _, table := range store.CopyTables() {
		_, excluded := store.CaptureExcluded[table]
		if store.IsCaptured(table) == excluded {
			t.Errorf("%s: captured=%v excluded=%v, want exactly one", table, store.IsCaptured(table), excluded)
		}
	}
	for table := range store.LogTables {
		if store.IsCopyTable(table) || !slices.Contains(store.TenantTables, table) {
			t.Errorf("%s: a change log table must be a tenant table that is not copied", table)
		}
	}
}

// TestCaptureProblemsCatchAnUncapturedTable is the test of the test: a
// captured table whose trigger is gone is reported, and the migrate step
// makes it again.
func TestCaptureProblemsCatchAnUncapturedTable(t *testing.T) {
	db := storetest.Open(t)
	ctx := context.Background()
	drop := `DROP TRIGGER capture_menu_items_update`
	if db.Engine == store.Postgres {
		drop = `DROP TRIGGER capture_changes ON menu_items`
	}
	if _, err := db.SQL().ExecContext(ctx, drop); err != nil {
		t.Fatal(err)
	}
	problems, err := db.CaptureProblems(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, "menu_items") }) {
		t.Fatalf("a captured table without its trigger was not reported: %q", problems)
	}
	if err := db.EnsureCapture(ctx); err != nil {
		t.Fatal(err)
	}
	if problems, err := db.CaptureProblems(ctx); err != nil || len(problems) > 0 {
		t.Fatalf("after EnsureCapture: %q, %v", problems, err)
	}
}

// TestCaptureFollowsAddedColumn: a column added to a captured table is in
// the logged rows; on SQLite, whose triggers name every column, the stale
// trigger is reported until the migrate step makes it again.
func TestCaptureFollowsAddedColumn(t *testing.T) {
	db := storetest.Open(t)
	ctx := context.Background()
	r, err := db.CreateRestaurant(ctx, "Columns", "CO")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.SQL().ExecContext(ctx, `ALTER TABLE menu_categories ADD COLUMN courier_note TEXT`); err != nil {
		t.Fatal(err)
	}
	if db.Engine == store.SQLite {
		problems, err := db.CaptureProblems(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, "capture_menu_categories_insert") }) {
			t.Fatalf("a trigger missing a column was not reported: %q", problems)
		}
		if err := db.EnsureCapture(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if problems, err := db.CaptureProblems(ctx); err != nil || len(problems) > 0 {
		t.Fatalf("capture problems: %q, %v", problems, err)
	}
	tctx := tenancy.WithTenant(ctx, r.ID)
	c, err := store.Create(tctx, db, store.MenuCategories, menu.Category{CategoryFields: menu.CategoryFields{Name: "Mains"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.SQL().ExecContext(ctx, `UPDATE menu_categories SET courier_note = 'by bike' WHERE id = $1`, c.ID); err != nil {
		t.Fatal(err)
	}
	changes := changesOf(t, db, r.ID, store.LogPosition{}, time.Now().Add(time.Hour))
	last := changes[len(changes)-1]
	if last.Table != "menu_categories" || last.Op != store.OpUpdate || last.Row["courier_note"] != "by bike" {
		t.Fatalf("last change %+v, want the update of courier_note", last)
	}
	if _, ok := last.Old["courier_note"]; !ok || len(last.Old) != 1 {
		t.Fatalf("old values %v, want courier_note alone", last.Old)
	}
}

func changesOf(t *testing.T, db *store.DB, rid string, from store.LogPosition, until time.Time) []store.Change {
	t.Helper()
	var out []store.Change
	if err := db.ChangesSince(context.Background(), rid, from, until, func(c store.Change) error {
		out = append(out, c)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestChangeLogRecordsTransactions: each write is logged with its row, an
// update with the old values of what it changed, a no-op update not at all;
// the changes of one transaction share its id and moment; a snapshot's
// position excludes what it holds.
func TestChangeLogRecordsTransactions(t *testing.T) {
	db := storetest.Open(t)
	ctx := context.Background()
	r, tctx, cat := newMenu(t, db, "Logged", "LG")
	var pos store.LogPosition
	if err := db.TenantSnapshot(ctx, r.ID, func(s *store.Snapshot) (err error) {
		pos, err = s.Position(ctx)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	item, err := store.Create(tctx, db, store.MenuItems, menu.Item{ItemFields: menu.ItemFields{CategoryID: cat.ID, Name: "Ramen", PriceCents: 1200, Available: true}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Update(tctx, db, store.MenuItems, item.ID, func(v *menu.Item) error { v.PriceCents = 1300; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SQL().ExecContext(ctx, `UPDATE menu_items SET name = name WHERE id = $1`, item.ID); err != nil {
		t.Fatal(err)
	}
	if err := store.Delete(tctx, db, store.MenuItems, item.ID); err != nil {
		t.Fatal(err)
	}
	all := changesOf(t, db, r.ID, store.LogPosition{}, time.Now().Add(time.Hour))
	if len(all) < 5 || all[0].Table != "restaurants" || all[0].Op != store.OpInsert {
		t.Fatalf("changes from the start: %+v", all)
	}
	since := changesOf(t, db, r.ID, pos, time.Now().Add(time.Hour))
	var got []string
	for _, c := range since {
		got = append(got, c.Table+" "+string(c.Op))
	}
	want := []string{"menu_items insert", "menu_items update", "menu_items delete"}
	if !slices.Equal(got, want) {
		t.Fatalf("changes after the snapshot: %q, want %q", got, want)
	}
	up := since[1]
	if up.Row["price_cents"] != any(jsonNumber("1300")) || up.Old["price_cents"] != any(jsonNumber("1200")) {
		t.Errorf("update: row %v old %v", up.Row, up.Old)
	}
	if _, ok := up.Old["name"]; ok {
		t.Errorf("old values name an unchanged column: %v", up.Old)
	}
	for i := 1; i < len(since); i++ {
		if since[i].Seq <= since[i-1].Seq || since[i].Tx == since[i-1].Tx || since[i].TxAt.Before(since[i-1].TxAt) {
			t.Errorf("changes %d and %d: seq %d→%d tx %s→%s at %s→%s", i-1, i, since[i-1].Seq, since[i].Seq,
				since[i-1].Tx, since[i].Tx, since[i-1].TxAt, since[i].TxAt)
		}
	}
	// Until the moment before the update: the insert alone.
	if cut := changesOf(t, db, r.ID, pos, since[1].TxAt.Add(-time.Microsecond)); len(cut) != 1 {
		t.Errorf("cut before the update: %d changes, want 1", len(cut))
	}
}

// TestImportIsNotLoggedAndStopsReplay: an import writes no change of its
// rows, and the log refuses to be replayed across it.
func TestImportIsNotLoggedAndStopsReplay(t *testing.T) {
	db := storetest.Open(t)
	ctx := context.Background()
	r, _, _ := newMenu(t, db, "Replaced", "RP")
	before := changesOf(t, db, r.ID, store.LogPosition{}, time.Now().Add(time.Hour))
	src := snapshotSource(t, db, r.ID)
	if _, err := db.ImportTenant(ctx, store.ImportSpec{TargetID: r.ID, Replace: true, Tables: src.tables}, src); err != nil {
		t.Fatal(err)
	}
	err := db.ChangesSince(ctx, r.ID, store.LogPosition{}, time.Now().Add(time.Hour), func(store.Change) error { return nil })
	var reset *store.LogResetError
	if !errors.As(err, &reset) || !errors.Is(err, store.ErrLogReset) {
		t.Fatalf("replay across the restore: %v, want a LogResetError", err)
	}
	var n int
	if err := db.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM tenant_changes WHERE restaurant_id = $1`, r.ID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != len(before)+1 {
		t.Fatalf("%d changes logged, want the %d before and the restore's mark", n, len(before))
	}
}

// TestDeletingARestaurantDeletesItsLog: the cascade of a restaurant's
// deletion is not logged, and the log goes with the restaurant.
func TestDeletingARestaurantDeletesItsLog(t *testing.T) {
	db := storetest.Open(t)
	ctx := context.Background()
	r, _, _ := newMenu(t, db, "Gone", "GO")
	if err := db.DeleteRestaurant(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM tenant_changes`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d changes left (%v), want 0", n, err)
	}
}

func jsonNumber(s string) json.Number { return json.Number(s) }

// memSource is a RowSource of rows read from a snapshot, in the form an
// archive's reader gives them.
type memSource struct {
	tables []string
	rows   map[string][]map[string]any
}

func (m *memSource) Rows(_ context.Context, table string, fn func(map[string]any) error) error {
	for _, r := range m.rows[table] {
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

func snapshotSource(t *testing.T, db *store.DB, rid string) *memSource {
	t.Helper()
	ctx := context.Background()
	m := &memSource{rows: map[string][]map[string]any{}}
	err := db.TenantSnapshot(ctx, rid, func(s *store.Snapshot) error {
		for _, table := range store.CopyTables() {
			cols, err := s.Columns(ctx, table)
			if err != nil {
				return err
			}
			m.tables = append(m.tables, table)
			if err := s.Each(ctx, table, cols, func(vals []any) error {
				row := map[string]any{}
				for i, c := range cols {
					b, err := json.Marshal(vals[i])
					if err != nil {
						return err
					}
					dec := json.NewDecoder(bytes.NewReader(b))
					dec.UseNumber()
					var v any
					if err := dec.Decode(&v); err != nil {
						return err
					}
					row[c.Name] = v
				}
				m.rows[table] = append(m.rows[table], row)
				return nil
			}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestWritesOutsideATransactionAreTransactionsOfTheirOwn: a statement run
// outside a transaction is logged as a transaction of its own, also an
// INSERT … RETURNING read as rows, and is committed.
func TestWritesOutsideATransactionAreTransactionsOfTheirOwn(t *testing.T) {
	db := storetest.Open(t)
	ctx := context.Background()
	r, err := db.CreateRestaurant(ctx, "Autocommit", "AC")
	if err != nil {
		t.Fatal(err)
	}
	now := db.Now()
	id := store.NewID()
	rows, err := db.SQL().QueryContext(ctx, `INSERT INTO menu_categories (restaurant_id, id, name, position, created_at, updated_at)
		VALUES ($1, $2, 'Mains', 0, $3, $3) RETURNING id`, r.ID, id, now)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"Sides", "Drinks"} {
		if _, err := db.SQL().ExecContext(ctx, `UPDATE menu_categories SET name = $1 WHERE restaurant_id = $2 AND id = $3`, name, r.ID, id); err != nil {
			t.Fatal(err)
		}
	}
	changes := changesOf(t, db, r.ID, store.LogPosition{}, time.Now().Add(time.Hour))
	if len(changes) != 4 {
		t.Fatalf("%d changes, want the restaurant's, the insert and two updates", len(changes))
	}
	seen := map[string]bool{}
	for _, c := range changes {
		if seen[c.Tx] {
			t.Errorf("change %d (%s %s) shares transaction %s with another", c.Seq, c.Table, c.Op, c.Tx)
		}
		seen[c.Tx] = true
	}
	if changes[3].Row["name"] != "Drinks" || changes[3].Old["name"] != "Sides" {
		t.Errorf("last update: row %v old %v", changes[3].Row, changes[3].Old)
	}
}

// TestReplayFailureChangesNothing: a change source failing half-way
// through the replay leaves no restaurant behind, and a replaced one as it
// was: the archive's rows and the changes are one transaction.
func TestReplayFailureChangesNothing(t *testing.T) {
	db := storetest.Open(t)
	ctx := context.Background()
	r, err := db.CreateRestaurant(ctx, "Half", "HF")
	if err != nil {
		t.Fatal(err)
	}
	tctx := tenancy.WithTenant(ctx, r.ID)
	src := snapshotSource(t, db, r.ID)
	var pos store.LogPosition
	if err := db.TenantSnapshot(ctx, r.ID, func(s *store.Snapshot) error {
		pos, err = s.Position(ctx)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"Mains", "Sides", "Drinks"} {
		if _, err := store.Create(tctx, db, store.MenuCategories, menu.Category{CategoryFields: menu.CategoryFields{Name: name}}); err != nil {
			t.Fatal(err)
		}
	}
	before := snapshotSource(t, db, r.ID)
	broken := errors.New("the segment store went away")
	changes := func(ctx context.Context, fn func(store.Change) error) error {
		n := 0
		return db.ChangesSince(ctx, r.ID, pos, time.Now().Add(time.Hour), func(c store.Change) error {
			if n++; n == 3 {
				return broken
			}
			return fn(c)
		})
	}
	newID := store.NewID()
	if _, err := db.ImportTenant(ctx, store.ImportSpec{TargetID: newID, Tables: src.tables, Changes: changes}, src); !errors.Is(err, broken) {
		t.Fatalf("import into a new restaurant: %v, want the source's error", err)
	}
	if _, err := db.Restaurant(ctx, newID); err == nil {
		t.Error("a failed replay left the new restaurant behind")
	}
	if _, err := db.ImportTenant(ctx, store.ImportSpec{TargetID: r.ID, Replace: true, Tables: src.tables, Changes: changes}, src); !errors.Is(err, broken) {
		t.Fatalf("replace: %v, want the source's error", err)
	}
	after := snapshotSource(t, db, r.ID)
	if !reflect.DeepEqual(before.rows, after.rows) {
		t.Error("a failed replay over the restaurant changed it")
	}
	// And complete, the replay gives the restaurant as it is.
	full := func(ctx context.Context, fn func(store.Change) error) error {
		return db.ChangesSince(ctx, r.ID, pos, time.Now().Add(time.Hour), fn)
	}
	stats, err := db.ImportTenant(ctx, store.ImportSpec{TargetID: newID, Tables: src.tables, Changes: full}, src)
	if err != nil || stats.Changes != 3 {
		t.Fatalf("replay: %+v %v, want 3 changes", stats, err)
	}
	got := snapshotSource(t, db, newID)
	if len(got.rows["menu_categories"]) != 3 {
		t.Errorf("replayed restaurant has %d categories, want 3", len(got.rows["menu_categories"]))
	}
}

// TestCaptureProblemsCatchAnOutdatedTrigger: a capture trigger made by an
// earlier definition (here one that logs a number counter's updates) is
// reported, and the migrate step makes it as the catalog asks; the
// counter's updates are then not logged, its inserts are.
func TestCaptureProblemsCatchAnOutdatedTrigger(t *testing.T) {
	db := storetest.Open(t)
	ctx := context.Background()
	old := []string{`CREATE TRIGGER capture_number_counters_update AFTER UPDATE ON number_counters BEGIN
		INSERT INTO tenant_changes (restaurant_id, id, tx, changed_at, table_name, op, row_data)
		VALUES (NEW.restaurant_id, 1000000, '0', '', 'number_counters', 'update', '{}'); END`}
	if db.Engine == store.Postgres {
		old = []string{`DROP TRIGGER capture_changes ON number_counters`,
			`CREATE TRIGGER capture_changes AFTER INSERT OR UPDATE OR DELETE ON number_counters FOR EACH ROW EXECUTE FUNCTION ordersuite_capture()`}
	}
	for _, q := range old {
		if _, err := db.SQL().ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	problems, err := db.CaptureProblems(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, "number_counters") }) {
		t.Fatalf("an outdated trigger was not reported: %q", problems)
	}
	if err := db.EnsureCapture(ctx); err != nil {
		t.Fatal(err)
	}
	if problems, err := db.CaptureProblems(ctx); err != nil || len(problems) > 0 {
		t.Fatalf("after EnsureCapture: %q, %v", problems, err)
	}
	r, err := db.CreateRestaurant(ctx, "Counted", "CN")
	if err != nil {
		t.Fatal(err)
	}
	before := len(changesOf(t, db, r.ID, store.LogPosition{}, time.Now().Add(time.Hour)))
	for i := 0; i < 3; i++ {
		if _, err := db.SQL().ExecContext(ctx, `INSERT INTO number_counters (restaurant_id, id, kind, day, value) VALUES ($1, $2, 'O', '2026-11-30', 1)
			ON CONFLICT (restaurant_id, kind, day) DO UPDATE SET value = number_counters.value + 1`, r.ID, store.NewID()); err != nil {
			t.Fatal(err)
		}
	}
	changes := changesOf(t, db, r.ID, store.LogPosition{}, time.Now().Add(time.Hour))[before:]
	if len(changes) != 1 || changes[0].Table != "number_counters" || changes[0].Op != store.OpInsert {
		t.Fatalf("three counter upserts logged %+v, want the insert alone", changes)
	}
}

// TestMigrationsDigestIsStable: the digest is the same on every call (it
// once hashed a map in its iteration order), so two processes of one build
// agree on it, as archives and test templates need.
func TestMigrationsDigestIsStable(t *testing.T) {
	first := store.MigrationsDigest()
	for range 200 {
		if d := store.MigrationsDigest(); d != first {
			t.Fatalf("MigrationsDigest gave %s, then %s", first, d)
		}
	}
}
