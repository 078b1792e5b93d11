package store_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/menu"
	"github.com/shimizu-tech/ordersuite/internal/ordering"
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
		changes := func(ctx context.Context, fn func(store.Change) error) error {
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

// TestReplayRebuildsNumberCounters: a counter's updates are not logged,
// yet a restore from a backup and the changes since gives every number
// counter exactly the value it had at the moment restored to (its id too),
// so the restored restaurant's next order and reservation take the next
// numbers, with no gap and no duplicate. The span holds orders on the
// backup's day and on the next (whose counter is made in the span), a
// reservation, and an order refused (which takes no number).
func TestReplayRebuildsNumberCounters(t *testing.T) {
	start := time.Now()
	var offset atomic.Int64
	base := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { return base.Add(time.Since(start) + time.Duration(offset.Load())) }
	db := storetest.OpenWithClock(t, clock)
	ctx := context.Background()
	// A moment of the log, which both engines date by the real clock.
	moment := func() time.Time {
		time.Sleep(2 * time.Millisecond)
		at := time.Now().UTC()
		time.Sleep(2 * time.Millisecond)
		return at
	}
	r, tctx, c := newMenu(t, db, "Counters", "CT")
	f := menu.NewItemFields()
	f.CategoryID, f.Name, f.PriceCents = c.ID, "Ramen", 900
	ramen, err := store.Create(tctx, db, store.MenuItems, menu.Item{ItemFields: f})
	if err != nil {
		t.Fatal(err)
	}
	f.Name, f.Available = "Sold out", false
	soldOut, err := store.Create(tctx, db, store.MenuItems, menu.Item{ItemFields: f})
	if err != nil {
		t.Fatal(err)
	}
	tf := reservations.NewTableFields()
	tf.Label, tf.Capacity = "T1", 4
	if _, err := store.Create(tctx, db, store.Tables, reservations.Table{TableFields: tf}); err != nil {
		t.Fatal(err)
	}
	order := func(rid, item string) (string, error) {
		o, err := db.CreateOrder(tenancy.WithTenant(ctx, rid), ordering.Request{OrderType: ordering.Takeout,
			Items: []ordering.LineRequest{{MenuItemID: item, Quantity: 1}}})
		return o.Number, err
	}
	mustOrder := func(rid string) string {
		t.Helper()
		n, err := order(rid, ramen.ID)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	slot := 0
	reserve := func(rid string) string {
		t.Helper()
		slot++
		at := clock().Add(time.Duration(48+3*slot) * time.Hour).Truncate(time.Hour)
		res, err := db.CreateReservation(tenancy.WithTenant(ctx, rid), reservations.Request{Name: "Guest", Phone: "+81 3 1234 5678",
			PartySize: 2, StartsAt: at, EndsAt: at.Add(2 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		return res.Number
	}
	counters := func(rid string) string {
		t.Helper()
		rows, err := db.SQL().QueryContext(ctx, `SELECT id, kind, day, value FROM number_counters WHERE restaurant_id = $1 ORDER BY kind, day`, rid)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var id, kind, day string
			var value int
			if err := rows.Scan(&id, &kind, &day, &value); err != nil {
				t.Fatal(err)
			}
			out = append(out, fmt.Sprintf("%s %s %s %d", id, kind, day, value))
		}
		return strings.Join(out, "\n")
	}

	// In the backup: two orders of the first day.
	mustOrder(r.ID)
	mustOrder(r.ID)
	src := snapshotSource(t, db, r.ID)
	var pos store.LogPosition
	if err := db.TenantSnapshot(ctx, r.ID, func(s *store.Snapshot) error {
		pos, err = s.Position(ctx)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	// Since: a third order of the first day, then (the middle moment)
	// two more, a refused order, a reservation, and two orders the next day.
	mustOrder(r.ID)
	middle, middleCounters := moment(), counters(r.ID)
	mustOrder(r.ID)
	if _, err := order(r.ID, soldOut.ID); err == nil {
		t.Fatal("an order of an unavailable item was placed")
	}
	mustOrder(r.ID)
	reserve(r.ID)
	offset.Store(int64(24 * time.Hour))
	mustOrder(r.ID)
	mustOrder(r.ID)
	end, endCounters := moment(), counters(r.ID)
	if !strings.Contains(endCounters, "O 2026-11-28 5") || !strings.Contains(endCounters, "O 2026-11-29 2") || !strings.Contains(endCounters, "R 2026-11-28 1") {
		t.Fatalf("the original's counters:\n%s", endCounters)
	}

	for _, tc := range []struct {
		name  string
		until time.Time
		want  string
	}{{"middle", middle, middleCounters}, {"end", end, endCounters}} {
		t.Run(tc.name, func(t *testing.T) {
			newID := store.NewID()
			changes := func(ctx context.Context, fn func(store.Change) error) error {
				return db.ChangesSince(ctx, r.ID, pos, tc.until, fn)
			}
			if _, err := db.ImportTenant(ctx, store.ImportSpec{TargetID: newID, Tables: src.tables, Changes: changes}, src); err != nil {
				t.Fatalf("restore: %v", err)
			}
			if got := counters(newID); got != tc.want {
				t.Fatalf("restored counters:\n%s\nwant the original's at the moment:\n%s", got, tc.want)
			}
		})
	}
	// The next numbers after the end: the restored restaurant's and the
	// original's are the same.
	newID := store.NewID()
	changes := func(ctx context.Context, fn func(store.Change) error) error {
		return db.ChangesSince(ctx, r.ID, pos, end, fn)
	}
	if _, err := db.ImportTenant(ctx, store.ImportSpec{TargetID: newID, Tables: src.tables, Changes: changes}, src); err != nil {
		t.Fatalf("restore: %v", err)
	}
	suffix := func(n string) string { return n[strings.LastIndex(n, "-"):] }
	if a, b := mustOrder(newID), mustOrder(r.ID); suffix(a) != suffix(b) || suffix(a) != "-261129003" {
		t.Errorf("next order: restored %s, original %s, want both numbered -261129003", a, b)
	}
	offset.Store(0)
	if a, b := reserve(newID), reserve(r.ID); suffix(a) != suffix(b) || suffix(a) != "-261128002" {
		t.Errorf("next reservation: restored %s, original %s, want both numbered -261128002", a, b)
	}
}
