package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/apperr"
	"github.com/shimizu-tech/ordersuite/internal/customers"
	"github.com/shimizu-tech/ordersuite/internal/menu"
	"github.com/shimizu-tech/ordersuite/internal/ordering"
	"github.com/shimizu-tech/ordersuite/internal/reservations"
	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/storetest"
)

func requirePostgres(t *testing.T) {
	t.Helper()
	if storetest.URL() == "" {
		t.Skip("orders are placed in groups on PostgreSQL: set TEST_DATABASE_URL")
	}
}

// TestOrdersPlacedTogether: many concurrent plain orders of one restaurant,
// refused ones among them, are placed in groups (some group holds more
// than one order) and still every placed order has its own number, the
// numbers run 1..K without a gap, a refused order is refused as a lone one
// is and takes no number, and every answer is the order as stored.
func TestOrdersPlacedTogether(t *testing.T) {
	requirePostgres(t)
	t.Parallel()
	db := storetest.Open(t)
	k := newKitchen(t, db, "Crowded Counter", "CC")
	other := newKitchen(t, db, "Next Door", "ND")
	add := func(name string, price int64, available bool) menu.Item {
		it, err := store.Create(k.ctx, db, store.MenuItems, menu.Item{ItemFields: menu.ItemFields{
			CategoryID: k.item.CategoryID, Name: name, PriceCents: price, Available: true}})
		if err != nil {
			t.Fatal(err)
		}
		if !available {
			if it, err = store.Update(k.ctx, db, store.MenuItems, it.ID, func(v *menu.Item) error {
				v.Available = false
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		}
		return it
	}
	gyoza, tea, sold := add("Gyoza", 650, true), add("Tea", 300, true), add("Sold Out", 999, false)
	guest, err := store.Create(k.ctx, db, store.Customers, customers.Customer{Fields: customers.Fields{Name: "Guest"}})
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := store.Create(other.ctx, db, store.Customers, customers.Customer{Fields: customers.Fields{Name: "Stranger"}})
	if err != nil {
		t.Fatal(err)
	}
	table, err := store.Create(k.ctx, db, store.Tables, reservations.Table{TableFields: reservations.TableFields{
		Label: "T1", Capacity: 4, Active: true}})
	if err != nil {
		t.Fatal(err)
	}

	type refusal struct {
		code  apperr.Code
		field string
	}
	// request returns the i-th order and, for a refused one, how it is refused.
	request := func(i int) (ordering.Request, *refusal) {
		lines := []ordering.LineRequest{{MenuItemID: k.item.ID, Quantity: 1 + i%3}, {MenuItemID: gyoza.ID, Quantity: 1 + i%2, Notes: fmt.Sprint("n", i)}}
		req := ordering.Request{OrderType: ordering.Takeout, Notes: fmt.Sprint("order ", i), Items: lines}
		switch i % 10 {
		case 0:
			req.Items[1].MenuItemID = sold.ID
			return req, &refusal{apperr.Conflict, "items[1].menu_item_id"}
		case 1:
			req.Items[1].MenuItemID = other.item.ID
			return req, &refusal{apperr.NotFound, "items[1].menu_item_id"}
		case 2:
			req.CustomerID = stranger.ID
			return req, &refusal{apperr.NotFound, "customer_id"}
		case 3:
			req.CustomerID = guest.ID
		case 4:
			req.OrderType, req.TableID = ordering.DineIn, table.ID
		case 5:
			req.Items = append(req.Items, ordering.LineRequest{MenuItemID: tea.ID, Quantity: 4}, ordering.LineRequest{MenuItemID: k.item.ID, Quantity: 1})
		}
		return req, nil
	}

	const clients, each = 64, 5
	type answer struct {
		i   int
		o   ordering.Order
		err error
	}
	answers := make([]answer, 0, clients*each)
	var mu sync.Mutex
	parallel(clients, func(c int) error {
		for j := range each {
			i := c*each + j
			req, _ := request(i)
			o, err := db.CreateOrder(k.ctx, req)
			mu.Lock()
			answers = append(answers, answer{i, o, err})
			mu.Unlock()
		}
		return nil
	})

	numbers := map[string]int{}
	var created time.Time
	for _, a := range answers {
		_, refused := request(a.i)
		if refused != nil {
			var ae *apperr.Error
			if !errors.As(a.err, &ae) || ae.Code != refused.code || ae.Field != refused.field {
				t.Errorf("order %d: got %v, want %s on %s", a.i, a.err, refused.code, refused.field)
			}
			continue
		}
		if a.err != nil {
			t.Errorf("order %d: %v", a.i, a.err)
			continue
		}
		if prev, dup := numbers[a.o.Number]; dup {
			t.Errorf("orders %d and %d share the number %s", prev, a.i, a.o.Number)
		}
		numbers[a.o.Number], created = a.i, a.o.CreatedAt
		stored, err := db.Order(k.ctx, a.o.ID)
		if err != nil {
			t.Errorf("order %d (%s) not stored: %v", a.i, a.o.Number, err)
			continue
		}
		if stored.Number != a.o.Number || stored.TotalAmountCents != a.o.TotalAmountCents ||
			stored.SubtotalCents != a.o.SubtotalCents || len(stored.Items) != len(a.o.Items) ||
			stored.CustomerID != a.o.CustomerID || stored.TableID != a.o.TableID || stored.Notes != a.o.Notes {
			t.Errorf("order %d answered %+v\nstored %+v", a.i, a.o, stored)
		}
		req, _ := request(a.i)
		var want int64
		for _, l := range req.Items {
			price := map[string]int64{k.item.ID: k.item.PriceCents, gyoza.ID: gyoza.PriceCents, tea.ID: tea.PriceCents}[l.MenuItemID]
			want += price * int64(l.Quantity)
		}
		if a.o.TotalAmountCents != want {
			t.Errorf("order %d totals %d, want %d", a.i, a.o.TotalAmountCents, want)
		}
	}
	placed := len(numbers)
	if placed == 0 || placed == len(answers) {
		t.Fatalf("%d of %d orders placed", placed, len(answers))
	}
	for v := 1; v <= placed; v++ {
		if _, ok := numbers[ordering.Number("CC", "O", created, v)]; !ok {
			t.Errorf("no order numbered %d of 1..%d", v, placed)
		}
	}
	var count, counter int
	if err := db.SQL().QueryRow(`SELECT count(*), (SELECT value FROM number_counters WHERE restaurant_id = $1 AND kind = 'O')
		FROM orders WHERE restaurant_id = $1`, k.r.ID).Scan(&count, &counter); err != nil {
		t.Fatal(err)
	}
	if count != placed || counter != placed {
		t.Errorf("%d orders stored and the counter at %d, want %d", count, counter, placed)
	}
	sizes := db.OrderGroupSizes()
	together := 0
	for size, n := range sizes[2:] {
		together += (size + 2) * int(n)
	}
	t.Logf("groups by size: %v", sizes)
	if together == 0 {
		t.Errorf("no two orders were placed together; groups by size: %v", sizes)
	}
}

// holdCounter locks the restaurant's order counter row until the returned
// function is called, so that the placement statement in flight waits.
func holdCounter(t *testing.T, db *store.DB, rid string) (release func()) {
	t.Helper()
	tx, err := db.SQL().Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(`SELECT value FROM number_counters WHERE restaurant_id = $1 AND kind = 'O' FOR UPDATE`, rid); err != nil {
		t.Fatal(err)
	}
	return func() {
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
}

// waitForCounter returns once an order's statement waits for the counter
// row's lock in db's database: until then a new order would go at once.
func waitForCounter(t *testing.T, db *store.DB) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		var n int
		if err := db.SQL().QueryRow(`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
			AND wait_event_type = 'Lock' AND query LIKE '%INSERT INTO number_counters%'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the order in flight never waited for the counter")
		}
	}
}

// queued starts an order of k in the background and waits until it waits
// behind the statement in flight; the answer arrives on the channel.
func queued(t *testing.T, k kitchen, ctx context.Context, req ordering.Request, want int) <-chan error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		_, err := k.db.CreateOrder(ctx, req)
		done <- err
	}()
	for deadline := time.Now().Add(10 * time.Second); k.db.OrderGroupWaiting(k.r.ID) < want; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d orders wait, want %d", k.db.OrderGroupWaiting(k.r.ID), want)
		}
	}
	return done
}

func plain(k kitchen, notes string) ordering.Request {
	return ordering.Request{OrderType: ordering.Takeout, Items: []ordering.LineRequest{{MenuItemID: k.item.ID, Quantity: 1, Notes: notes}}}
}

// TestOrderLeavesItsGroup: an order whose request goes away while it waits
// leaves the queue at once and takes no number; the orders that waited
// with it are placed together, numbered after the one in flight.
func TestOrderLeavesItsGroup(t *testing.T) {
	requirePostgres(t)
	t.Parallel()
	db := storetest.Open(t)
	k := newKitchen(t, db, "Walk Out", "WO")
	if _, err := k.order(""); err != nil {
		t.Fatal(err)
	}
	release := holdCounter(t, db, k.r.ID)
	inFlight := make(chan error, 1)
	go func() { _, err := db.CreateOrder(k.ctx, plain(k, "")); inFlight <- err }()
	waitForCounter(t, db)
	ctx, cancel := context.WithCancel(k.ctx)
	first := queued(t, k, k.ctx, plain(k, "first"), 1)
	gone := queued(t, k, ctx, plain(k, "gone"), 2)
	last := queued(t, k, k.ctx, plain(k, "last"), 3)
	cancel()
	select {
	case err := <-gone:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("the order that went away: %v, want it cancelled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the order that went away still waits")
	}
	if n := db.OrderGroupWaiting(k.r.ID); n != 2 {
		t.Errorf("%d orders wait, want 2", n)
	}
	before := db.OrderGroupSizes()[2]
	release()
	for _, c := range []<-chan error{inFlight, first, last} {
		if err := <-c; err != nil {
			t.Fatal(err)
		}
	}
	if db.OrderGroupSizes()[2] != before+1 {
		t.Errorf("the two waiting orders were not placed together: %v", db.OrderGroupSizes())
	}
	rows, err := db.SQL().Query(`SELECT o.number, i.notes FROM orders o JOIN order_items i ON i.restaurant_id = o.restaurant_id AND i.order_id = o.id
		WHERE o.restaurant_id = $1 ORDER BY o.number`, k.r.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var number, notes string
		if err := rows.Scan(&number, &notes); err != nil {
			t.Fatal(err)
		}
		got = append(got, number[len(number)-3:]+" "+notes)
	}
	if want := "[001  002  003 first 004 last]"; fmt.Sprint(got) != want {
		t.Errorf("stored %v, want %s", got, want)
	}
}

// TestFailedGroupAnswersEveryMember: when a group's statement fails, every
// order of the group gets the error, none waits on, and none took a number.
func TestFailedGroupAnswersEveryMember(t *testing.T) {
	requirePostgres(t)
	t.Parallel()
	db := storetest.Open(t)
	k := newKitchen(t, db, "Broken Batch", "BK")
	if _, err := k.order(""); err != nil {
		t.Fatal(err)
	}
	// A line noted "boom" cannot be written: the group that holds one fails.
	if _, err := db.SQL().Exec(`ALTER TABLE order_items ADD CONSTRAINT no_boom CHECK (notes <> 'boom')`); err != nil {
		t.Fatal(err)
	}
	release := holdCounter(t, db, k.r.ID)
	inFlight := make(chan error, 1)
	go func() { _, err := db.CreateOrder(k.ctx, plain(k, "")); inFlight <- err }()
	waitForCounter(t, db)
	bad := queued(t, k, k.ctx, plain(k, "boom"), 1)
	good := queued(t, k, k.ctx, plain(k, "fine"), 2)
	release()
	if err := <-inFlight; err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]<-chan error{"boom": bad, "fine": good} {
		select {
		case err := <-c:
			if !apperr.Is(err, apperr.Invalid) {
				t.Errorf("order %q of the failed group: %v, want the group's error", name, err)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("order %q of the failed group was never answered", name)
		}
	}
	o, err := db.CreateOrder(k.ctx, plain(k, "after"))
	if err != nil {
		t.Fatal(err)
	}
	if want := ordering.Number("BK", "O", o.CreatedAt, 3); o.Number != want {
		t.Errorf("the next order is %s, want %s", o.Number, want)
	}
}

// TestOrdersPlacedTogetherByTwoServers: two servers on one database each
// place their own groups of one restaurant's orders; the counter row's
// lock still takes turns between them, so numbers stay unique and run
// 1..K without a gap.
func TestOrdersPlacedTogetherByTwoServers(t *testing.T) {
	requirePostgres(t)
	t.Parallel()
	url, opts := storetest.NewMigratedDatabase(t)
	var servers [2]*store.DB
	for i := range servers {
		db, err := store.Open(context.Background(), url, opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		servers[i] = db
	}
	k := newKitchen(t, servers[0], "Two Doors", "TD")
	const clients, each = 32, 5
	var mu sync.Mutex
	numbers := map[string]bool{}
	var created time.Time
	errs := parallel(clients, func(c int) error {
		for range each {
			o, err := servers[c%2].CreateOrder(k.ctx, plain(k, ""))
			if err != nil {
				return err
			}
			mu.Lock()
			if numbers[o.Number] {
				t.Errorf("number %s given twice", o.Number)
			}
			numbers[o.Number], created = true, o.CreatedAt
			mu.Unlock()
		}
		return nil
	})
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for v := 1; v <= clients*each; v++ {
		if !numbers[ordering.Number("TD", "O", created, v)] {
			t.Errorf("no order numbered %d of 1..%d", v, clients*each)
		}
	}
	for i, db := range servers {
		together := int64(0)
		for _, n := range db.OrderGroupSizes()[2:] {
			together += n
		}
		if together == 0 {
			t.Errorf("server %d placed no group of more than one order: %v", i, db.OrderGroupSizes())
		}
	}
}
