package store_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/menu"
	"github.com/shimizu-tech/ordersuite/internal/reservations"
	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/storetest"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// TestReplayCollapsesEachRowToItsLastChange restores a restaurant into a
// new one from a backup and the changes made since, which touch the same
// rows several times: a row inserted, updated, deleted and inserted again
// under the same key; a parent and its child both deleted (children must
// go first); a child inserted under a parent inserted in the same span.
// The set-based replay must give the restaurant exactly as it is, without
// falling back to the change-by-change replay. Then two tables exchange
// their labels (a unique value): the set-based upsert meets a transient
// conflict and the replay, falling back, still gives the exact state.
func TestReplayCollapsesEachRowToItsLastChange(t *testing.T) {
	db := storetest.Open(t)
	ctx := context.Background()
	r, err := db.CreateRestaurant(ctx, "Collapse", "CL")
	if err != nil {
		t.Fatal(err)
	}
	tctx := tenancy.WithTenant(ctx, r.ID)
	cat := func(name string) menu.Category {
		t.Helper()
		c, err := store.Create(tctx, db, store.MenuCategories, menu.Category{CategoryFields: menu.CategoryFields{Name: name}})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	item := func(catID, name string) menu.Item {
		t.Helper()
		f := menu.NewItemFields()
		f.CategoryID, f.Name, f.PriceCents = catID, name, 900
		it, err := store.Create(tctx, db, store.MenuItems, menu.Item{ItemFields: f})
		if err != nil {
			t.Fatal(err)
		}
		return it
	}
	table := func(label string) reservations.Table {
		t.Helper()
		f := reservations.NewTableFields()
		f.Label, f.Capacity = label, 4
		tb, err := store.Create(tctx, db, store.Tables, reservations.Table{TableFields: f})
		if err != nil {
			t.Fatal(err)
		}
		return tb
	}
	// In the backup: a category with an item, two tables, a template row.
	kept := cat("Kept")
	parent := cat("Parent")
	child := item(parent.ID, "Child")
	t1, t2 := table("T1"), table("T2")
	src := snapshotSource(t, db, r.ID)
	var pos store.LogPosition
	if err := db.TenantSnapshot(ctx, r.ID, func(s *store.Snapshot) error {
		pos, err = s.Position(ctx)
		return err
	}); err != nil {
		t.Fatal(err)
	}

	// Inserted, updated, deleted, inserted again with the same key.
	again := cat("Again")
	if _, err := store.Update(tctx, db, store.MenuCategories, again.ID, func(c *menu.Category) error {
		c.Name, c.Position = "Again updated", 7
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := store.Delete(tctx, db, store.MenuCategories, again.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SQL().ExecContext(ctx, `INSERT INTO menu_categories (restaurant_id, id, name, created_at, updated_at)
		SELECT restaurant_id, $1, 'Again reborn', created_at, updated_at FROM menu_categories WHERE restaurant_id = $2 AND id = $3`,
		again.ID, r.ID, kept.ID); err != nil {
		t.Fatal(err)
	}
	// A parent and its child both deleted.
	if err := store.Delete(tctx, db, store.MenuItems, child.ID); err != nil {
		t.Fatal(err)
	}
	if err := store.Delete(tctx, db, store.MenuCategories, parent.ID); err != nil {
		t.Fatal(err)
	}
	// A child under a parent inserted in the same span, both updated.
	fresh := cat("Fresh")
	freshItem := item(fresh.ID, "Fresh item")
	if _, err := store.Update(tctx, db, store.MenuItems, freshItem.ID, func(it *menu.Item) error {
		it.PriceCents = 1200
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Update(tctx, db, store.MenuCategories, kept.ID, func(c *menu.Category) error {
		c.Position = 3
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	// Each restore goes into a new restaurant, whose rows must be the
	// live restaurant's but for the restaurant's id.
	strip := func(m *memSource) map[string][]map[string]any {
		out := map[string][]map[string]any{}
		for table, rows := range m.rows {
			for _, row := range rows {
				c := map[string]any{}
				for k, v := range row {
					if k != "restaurant_id" && (table != "restaurants" || k != "id") {
						c[k] = v
					}
				}
				out[table] = append(out[table], c)
			}
		}
		return out
	}
	restore := func() {
		t.Helper()
		want := strip(snapshotSource(t, db, r.ID))
		changes := func(fn func(store.Change) error) error {
			return db.ChangesSince(ctx, r.ID, pos, time.Now().Add(time.Hour), fn)
		}
		newID := store.NewID()
		if _, err := db.ImportTenant(ctx, store.ImportSpec{TargetID: newID, Tables: src.tables, Changes: changes}, src); err != nil {
			t.Fatalf("restore: %v", err)
		}
		got := strip(snapshotSource(t, db, newID))
		for _, table := range src.tables {
			if !reflect.DeepEqual(got[table], want[table]) {
				t.Errorf("%s after the replay:\n%v\nwant\n%v", table, got[table], want[table])
			}
		}
	}
	before := store.ReplayFallbacks()
	restore()
	if n := store.ReplayFallbacks() - before; n != 0 {
		t.Errorf("the replay fell back to change by change %d times, want the set-based replay", n)
	}

	// Two tables exchange their labels through a third.
	rename := func(id, label string) {
		t.Helper()
		if _, err := store.Update(tctx, db, store.Tables, id, func(tb *reservations.Table) error {
			tb.Label = label
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	rename(t1.ID, "Swap")
	rename(t2.ID, "T1")
	rename(t1.ID, "T2")
	before = store.ReplayFallbacks()
	restore()
	if n := store.ReplayFallbacks() - before; n != 1 {
		t.Errorf("the replay fell back %d times, want once (a transient unique conflict)", n)
	}
}
