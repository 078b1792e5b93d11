package demo_test

import (
	"context"
	"testing"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/auth"
	"github.com/shimizu-tech/ordersuite/internal/demo"
	"github.com/shimizu-tech/ordersuite/internal/ordering"
	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/storetest"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

func init() { auth.SetFastHashingForTests() }

// TestSeedFillsTheDemoRestaurantOnce: the demo's month fills every table
// with a few hundred orders, and running the seed again changes no row
// count. The month is the seeded test template's (storetest.OpenDemo, which
// runs Seed's own code on a fixed clock and whose copy is checked against a
// fresh seed): seeding a month per test binary costs tens of seconds.
func TestSeedFillsTheDemoRestaurantOnce(t *testing.T) {
	t.Parallel()
	db, creds := storetest.OpenDemo(t, demo.HistoryDays)
	ctx := context.Background()
	tctx := tenancy.WithTenant(ctx, creds.RestaurantID)
	counts := func() map[string]int {
		out := map[string]int{}
		// The copy tables: the change log records the second run's
		// password change, as it records every write.
		for _, table := range store.CopyTables() {
			rows, err := db.TenantRows(ctx, table, creds.RestaurantID)
			if err != nil {
				t.Fatal(err)
			}
			out[table] = len(rows)
		}
		return out
	}
	first := counts()
	for table, min := range map[string]int{"menu_categories": 5, "menu_items": 20, "customers": 40, "tables": 10,
		"orders": 200, "order_items": 200, "payments": 150, "reservations": 20, "loyalty_programs": 1,
		"loyalty_rewards": 3, "customer_loyalty": 10, "notifications": 200, "staff_members": 5, "tenant_events": 200} {
		if first[table] < min {
			t.Errorf("%s: %d rows, want at least %d", table, first[table], min)
		}
	}
	if first["orders"] > 1000 {
		t.Errorf("%d orders: more than a few hundred", first["orders"])
	}
	orders, _, err := store.List(tctx, db, store.Orders, store.ListQuery{Filter: store.OrderFilter{Status: string(ordering.Completed)}, Limit: 100})
	if err != nil || len(orders) == 0 {
		t.Fatalf("no completed orders (err %v)", err)
	}
	oldest := db.Now()
	all, _, _ := store.List(tctx, db, store.Orders, store.ListQuery{Limit: 100, Offset: first["orders"] - 1})
	if len(all) == 1 {
		oldest = all[0].CreatedAt
	}
	if age := db.Now().Sub(oldest); age < 25*24*time.Hour || age > (demo.HistoryDays+1)*24*time.Hour {
		t.Errorf("oldest order is %s old, want about %d days", age, demo.HistoryDays)
	}
	if _, err := demo.Seed(ctx, db); err != nil {
		t.Fatal(err)
	}
	second := counts()
	for table, n := range first {
		if second[table] != n {
			t.Errorf("re-running the seed changed %s from %d to %d rows", table, n, second[table])
		}
	}
}

// TestSeedHistoryIsTheDemoWithFewerDays: a shorter history keeps the menu,
// guests, tables, staff and loyalty program, and has orders, payments and
// reservations of those days only.
func TestSeedHistoryIsTheDemoWithFewerDays(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t)
	ctx := context.Background()
	if _, err := demo.SeedHistory(ctx, db, 0); err == nil {
		t.Error("a history of 0 days was accepted")
	}
	const days = 2
	creds, err := demo.SeedHistory(ctx, db, days)
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]int{}
	for _, table := range store.CopyTables() {
		r, err := db.TenantRows(ctx, table, creds.RestaurantID)
		if err != nil {
			t.Fatal(err)
		}
		rows[table] = len(r)
	}
	for table, want := range map[string]int{"menu_categories": 5, "menu_items": 20, "customers": 40, "tables": 10,
		"staff_members": 6, "loyalty_programs": 1, "loyalty_rewards": 3, "payment_methods": 3} {
		if rows[table] != want {
			t.Errorf("%s: %d rows, want %d", table, rows[table], want)
		}
	}
	for _, table := range []string{"orders", "order_items", "payments", "reservations", "notifications", "tenant_events"} {
		if rows[table] == 0 {
			t.Errorf("%s: no rows", table)
		}
	}
	if n := rows["orders"]; n > (days+1)*(13+6) {
		t.Errorf("%d orders in %d days of history", n, days)
	}
	tctx := tenancy.WithTenant(ctx, creds.RestaurantID)
	all, _, _ := store.List(tctx, db, store.Orders, store.ListQuery{Limit: 1, Offset: rows["orders"] - 1})
	if len(all) != 1 {
		t.Fatal("no oldest order")
	}
	if age := db.Now().Sub(all[0].CreatedAt); age > (days+1)*24*time.Hour {
		t.Errorf("oldest order is %s old, want at most %d days", age, days+1)
	}
}
