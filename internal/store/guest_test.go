package store_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/apperr"
	"github.com/shimizu-tech/ordersuite/internal/loyalty"
	"github.com/shimizu-tech/ordersuite/internal/ordering"
	"github.com/shimizu-tech/ordersuite/internal/reservations"
	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/storetest"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// TestGuestSeesOnlyOwnRecords holds the data layer to "a guest sees only
// their own records": a caller of role customer lists and gets only their
// own orders, reservations and loyalty accounts, another guest's are not
// found, and the team sees them all.
func TestGuestSeesOnlyOwnRecords(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t)
	k := newKitchen(t, db, "Alpha", "AS")
	program, err := store.Create(k.ctx, db, store.LoyaltyPrograms, loyalty.Program{ProgramFields: loyalty.NewProgramFields()})
	if err != nil {
		t.Fatal(err)
	}
	type guest struct {
		user                                         tenancy.User
		customer, order, reservation, loyaltyAccount string
	}
	if _, err := store.Create(k.ctx, db, store.Tables, reservations.Table{TableFields: reservations.TableFields{
		Label: "T1", Capacity: 4, Active: true}}); err != nil {
		t.Fatal(err)
	}
	start := db.Now().Add(48 * time.Hour).Truncate(time.Hour)
	guests := make([]guest, 2)
	for i := range guests {
		u, err := db.CreateUser(k.ctx, tenancy.User{Email: fmt.Sprintf("guest%d@example.com", i), Role: tenancy.Customer, PasswordHash: "h"})
		if err != nil {
			t.Fatal(err)
		}
		c, err := db.CustomerForUser(k.ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		o, err := db.CreateOrder(k.ctx, ordering.Request{OrderType: ordering.Takeout, CustomerID: c.ID,
			Items: []ordering.LineRequest{{MenuItemID: k.item.ID, Quantity: 1}}})
		if err != nil {
			t.Fatal(err)
		}
		res, err := db.CreateReservation(k.ctx, reservations.Request{CustomerID: c.ID, Name: "Guest", PartySize: 2,
			StartsAt: start.Add(time.Duration(i) * time.Hour), EndsAt: start.Add(time.Duration(i+1) * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		acct, err := store.Create(k.ctx, db, store.LoyaltyAccounts, loyalty.Account{CustomerID: c.ID, ProgramID: program.ID})
		if err != nil {
			t.Fatal(err)
		}
		guests[i] = guest{user: u, customer: c.ID, order: o.ID, reservation: res.ID, loyaltyAccount: acct.ID}
	}
	// An order of no customer (a walk-in) is nobody's to see.
	if _, err := k.order(""); err != nil {
		t.Fatal(err)
	}
	as := func(u tenancy.User) tenancy.Principal {
		return tenancy.Principal{UserID: u.ID, RestaurantID: k.r.ID, Role: u.Role}
	}

	for i, g := range guests {
		other := guests[1-i]
		ctx := tenancy.WithPrincipal(k.ctx, as(g.user))
		t.Run(g.user.Email, func(t *testing.T) {
			ids := func(n int, err error, id func(int) string) []string {
				t.Helper()
				if err != nil {
					t.Fatal(err)
				}
				out := []string{}
				for j := range n {
					out = append(out, id(j))
				}
				return out
			}
			orders, total, err := store.List(ctx, db, store.Orders, store.ListQuery{Limit: 100})
			if got := ids(len(orders), err, func(j int) string { return orders[j].ID }); !slices.Equal(got, []string{g.order}) || total != 1 {
				t.Errorf("orders listed: %v (total %d), want only %s", got, total, g.order)
			}
			// Naming another guest as the customer does not widen the list.
			orders, _, err = store.List(ctx, db, store.Orders, store.ListQuery{Filter: store.OrderFilter{CustomerID: other.customer}, Limit: 100})
			if got := ids(len(orders), err, func(j int) string { return orders[j].ID }); !slices.Equal(got, []string{g.order}) {
				t.Errorf("orders listed with another customer_id: %v, want only %s", got, g.order)
			}
			list, total, err := store.List(ctx, db, store.Reservations, store.ListQuery{Limit: 100})
			if got := ids(len(list), err, func(j int) string { return list[j].ID }); !slices.Equal(got, []string{g.reservation}) || total != 1 {
				t.Errorf("reservations listed: %v (total %d), want only %s", got, total, g.reservation)
			}
			accts, total, err := store.List(ctx, db, store.LoyaltyAccounts, store.ListQuery{Limit: 100})
			if got := ids(len(accts), err, func(j int) string { return accts[j].ID }); !slices.Equal(got, []string{g.loyaltyAccount}) || total != 1 {
				t.Errorf("loyalty accounts listed: %v (total %d), want only %s", got, total, g.loyaltyAccount)
			}

			if o, err := db.Order(ctx, g.order); err != nil || o.ID != g.order || len(o.Items) != 1 {
				t.Errorf("own order: %+v, %v", o, err)
			}
			if _, err := store.Get(ctx, db, store.Reservations, g.reservation); err != nil {
				t.Errorf("own reservation: %v", err)
			}
			if _, err := store.Get(ctx, db, store.LoyaltyAccounts, g.loyaltyAccount); err != nil {
				t.Errorf("own loyalty account: %v", err)
			}
			if _, err := db.Order(ctx, other.order); !apperr.Is(err, apperr.NotFound) {
				t.Errorf("another guest's order: %v, want not found", err)
			}
			if _, err := store.Get(ctx, db, store.Orders, other.order); !apperr.Is(err, apperr.NotFound) {
				t.Errorf("another guest's order through Get: %v, want not found", err)
			}
			if _, err := store.Get(ctx, db, store.Reservations, other.reservation); !apperr.Is(err, apperr.NotFound) {
				t.Errorf("another guest's reservation: %v, want not found", err)
			}
			if _, err := store.Get(ctx, db, store.LoyaltyAccounts, other.loyaltyAccount); !apperr.Is(err, apperr.NotFound) {
				t.Errorf("another guest's loyalty account: %v, want not found", err)
			}
		})
	}

	t.Run("a guest without a customer record sees nothing", func(t *testing.T) {
		u, err := db.CreateUser(k.ctx, tenancy.User{Email: "new@example.com", Role: tenancy.Customer, PasswordHash: "h"})
		if err != nil {
			t.Fatal(err)
		}
		ctx := tenancy.WithPrincipal(k.ctx, as(u))
		if orders, total, err := store.List(ctx, db, store.Orders, store.ListQuery{Limit: 100}); err != nil || len(orders) != 0 || total != 0 {
			t.Errorf("orders: %d (total %d), %v; want none", len(orders), total, err)
		}
	})

	t.Run("the team sees every record", func(t *testing.T) {
		staff, err := db.CreateUser(k.ctx, tenancy.User{Email: "staff@example.com", Role: tenancy.Staff, PasswordHash: "h"})
		if err != nil {
			t.Fatal(err)
		}
		ctx := tenancy.WithPrincipal(k.ctx, as(staff))
		if _, total, err := store.List(ctx, db, store.Orders, store.ListQuery{Limit: 100}); err != nil || total != 3 {
			t.Errorf("orders: total %d, %v; want 3", total, err)
		}
		if _, total, err := store.List(ctx, db, store.Reservations, store.ListQuery{Limit: 100}); err != nil || total != 2 {
			t.Errorf("reservations: total %d, %v; want 2", total, err)
		}
		if _, err := db.Order(ctx, guests[0].order); err != nil {
			t.Errorf("a guest's order: %v", err)
		}
	})
}
