package store_test

import (
	"context"
	"fmt"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/apperr"
	"github.com/shimizu-tech/ordersuite/internal/menu"
	"github.com/shimizu-tech/ordersuite/internal/ordering"
	"github.com/shimizu-tech/ordersuite/internal/reservations"
	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/storetest"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// kitchen is a restaurant with one menu item, ready for orders.
type kitchen struct {
	db   *store.DB
	ctx  context.Context
	r    tenancy.Restaurant
	item menu.Item
}

// newMenu makes a restaurant with one menu category, "Mains", and returns
// them with a context acting as the restaurant.
func newMenu(t testing.TB, db *store.DB, name, prefix string) (tenancy.Restaurant, context.Context, menu.Category) {
	t.Helper()
	r, err := db.CreateRestaurant(context.Background(), name, prefix)
	if err != nil {
		t.Fatal(err)
	}
	ctx := tenancy.WithTenant(context.Background(), r.ID)
	cat, err := store.Create(ctx, db, store.MenuCategories, menu.Category{CategoryFields: menu.CategoryFields{Name: "Mains"}})
	if err != nil {
		t.Fatal(err)
	}
	return r, ctx, cat
}

func newKitchen(t testing.TB, db *store.DB, name, prefix string) kitchen {
	t.Helper()
	r, ctx, cat := newMenu(t, db, name, prefix)
	item, err := store.Create(ctx, db, store.MenuItems, menu.Item{ItemFields: menu.ItemFields{
		CategoryID: cat.ID, Name: "Ramen", PriceCents: 1200, Available: true}})
	if err != nil {
		t.Fatal(err)
	}
	return kitchen{db: db, ctx: ctx, r: r, item: item}
}

func (k kitchen) order(code string) (ordering.Order, error) {
	return k.db.CreateOrder(k.ctx, ordering.Request{OrderType: ordering.Takeout, PromotionCode: code,
		Items: []ordering.LineRequest{{MenuItemID: k.item.ID, Quantity: 1}}})
}

// parallel runs fn n times at once and returns the errors.
func parallel(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = fn(i)
		}()
	}
	close(start)
	wg.Wait()
	return errs
}

func TestConcurrentOrdersGetDistinctNumbers(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t)
	a := newKitchen(t, db, "Alpha", "AS")
	b := newKitchen(t, db, "Beta", "BB")
	const n = 40
	var mu sync.Mutex
	numbers := map[string]bool{}
	errs := parallel(2*n, func(i int) error {
		k := a
		if i%2 == 1 {
			k = b
		}
		o, err := k.order("")
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		if numbers[o.Number] {
			return fmt.Errorf("number %s given twice", o.Number)
		}
		numbers[o.Number] = true
		return nil
	})
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	day := db.Now().Format("060102")
	for _, k := range []kitchen{a, b} {
		pattern := regexp.MustCompile(`^` + k.r.Prefix + `-O-` + day + `(\d{3,})$`)
		seen := map[string]bool{}
		for num := range numbers {
			if m := pattern.FindStringSubmatch(num); m != nil {
				seen[m[1]] = true
			}
		}
		for i := 1; i <= n; i++ {
			if !seen[fmt.Sprintf("%03d", i)] {
				t.Errorf("%s: sequence %03d missing; numbers are not 1..%d without gaps", k.r.Prefix, i, n)
			}
		}
	}
}

func TestPromotionMaxUsesUnderConcurrency(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t)
	k := newKitchen(t, db, "Alpha", "AS")
	maxUses := 5
	promo, err := store.Create(k.ctx, db, store.Promotions, ordering.Promotion{PromotionFields: ordering.PromotionFields{
		Code: "FIVE", DiscountType: ordering.Fixed, DiscountValue: 200, MaxUses: &maxUses, Active: true}})
	if err != nil {
		t.Fatal(err)
	}
	ok, usedUp := 0, 0
	for _, err := range parallel(30, func(int) error { _, err := k.order("five"); return err }) {
		switch {
		case err == nil:
			ok++
		case apperr.Is(err, apperr.Conflict):
			usedUp++
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	if ok != maxUses || usedUp != 30-maxUses {
		t.Fatalf("%d orders got the promotion and %d were refused; want %d and %d", ok, usedUp, maxUses, 30-maxUses)
	}
	got, err := store.Get(k.ctx, db, store.Promotions, promo.ID)
	if err != nil || got.Uses != maxUses {
		t.Fatalf("promotion uses = %d (err %v), want %d", got.Uses, err, maxUses)
	}
	orders, total, err := store.List(k.ctx, db, store.Orders, store.ListQuery{Limit: 100})
	if err != nil || total != maxUses {
		t.Fatalf("%d orders stored (err %v), want %d", total, err, maxUses)
	}
	for _, o := range orders {
		if o.DiscountCents != 200 || o.TotalAmountCents != 1000 {
			t.Errorf("order %s: discount %d total %d, want 200 and 1000", o.Number, o.DiscountCents, o.TotalAmountCents)
		}
	}
}

func TestTableNeverDoubleBooked(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t)
	k := newKitchen(t, db, "Alpha", "AS")
	var tables []reservations.Table
	for i, capacity := range []int{2, 4, 4} {
		tb, err := store.Create(k.ctx, db, store.Tables, reservations.Table{TableFields: reservations.TableFields{
			Label: fmt.Sprintf("T%d", i+1), Capacity: capacity, Active: true}})
		if err != nil {
			t.Fatal(err)
		}
		tables = append(tables, tb)
	}
	start := db.Now().Add(48 * time.Hour).Truncate(time.Hour)
	book := func(tableID string, offset time.Duration) error {
		_, err := db.CreateReservation(k.ctx, reservations.Request{TableID: tableID, Name: "Guest", PartySize: 2,
			StartsAt: start.Add(offset), EndsAt: start.Add(offset + 2*time.Hour)})
		return err
	}
	count := func(errs []error) (ok int) {
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case !apperr.Is(err, apperr.Conflict):
				t.Errorf("unexpected error: %v", err)
			}
		}
		return ok
	}
	// Twenty bookings of one table at overlapping times: one wins.
	if ok := count(parallel(20, func(i int) error { return book(tables[1].ID, time.Duration(i)*time.Minute) })); ok != 1 {
		t.Fatalf("%d overlapping bookings of one table succeeded, want 1", ok)
	}
	// Bookings without a table fill the two remaining tables, then stop.
	if ok := count(parallel(10, func(int) error { return book("", 30*time.Minute) })); ok != 2 {
		t.Fatalf("%d bookings were given a table, want 2 (three tables, one taken)", ok)
	}
	// After the first booking ends the table is free again.
	if err := book(tables[1].ID, 3*time.Hour); err != nil {
		t.Fatalf("a later booking of the table was refused: %v", err)
	}
	list, _, err := store.List(k.ctx, db, store.Reservations, store.ListQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for i, x := range list {
		for _, y := range list[i+1:] {
			if x.TableID == y.TableID && x.StartsAt.Before(y.EndsAt) && y.StartsAt.Before(x.EndsAt) {
				t.Errorf("table double booked: %s and %s", x.Number, y.Number)
			}
		}
	}
}

// TestCustomerRecordOfALoginIsCreatedOnce: a guest's first requests may
// race; they all get the same customer record.
func TestCustomerRecordOfALoginIsCreatedOnce(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t)
	k := newKitchen(t, db, "Alpha", "AS")
	u, err := db.CreateUser(k.ctx, tenancy.User{Email: "guest@example.test", Name: "Guest", Role: tenancy.Customer, PasswordHash: "h"})
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, 10)
	for i, err := range parallel(10, func(i int) error {
		c, err := db.CustomerForUser(k.ctx, u)
		ids[i] = c.ID
		return err
	}) {
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	for _, id := range ids {
		if id != ids[0] || id == "" {
			t.Fatalf("different customer records for one login: %v", ids)
		}
	}
}

// TestDatabaseRefusesCrossTenantOrderLine: even a write that skipped the
// application's checks cannot put tenant B's menu item into A's order.
func TestDatabaseRefusesCrossTenantOrderLine(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t)
	a := newKitchen(t, db, "Alpha", "AS")
	b := newKitchen(t, db, "Beta", "BB")
	o, err := a.order("")
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.SQL().Exec(`INSERT INTO order_items (restaurant_id, id, order_id, menu_item_id, name, unit_price_cents, quantity, line_total_cents)
		VALUES ($1, $2, $3, $4, 'x', 1, 1, 1)`, a.r.ID, store.NewID(), o.ID, b.item.ID)
	if err == nil {
		t.Fatal("the database accepted tenant B's menu item in tenant A's order")
	}
	_, err = db.SQL().Exec(`INSERT INTO payments (restaurant_id, id, order_id, payment_method_id, amount_cents, status, created_at, updated_at)
		VALUES ($1, $2, $3, $4, 100, 'completed', $5, $5)`, b.r.ID, store.NewID(), o.ID, store.NewID(), db.Now())
	if err == nil {
		t.Fatal("the database accepted a payment of tenant B for tenant A's order")
	}
}
