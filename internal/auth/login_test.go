package auth_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/apperr"
	"github.com/shimizu-tech/ordersuite/internal/auth"
	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/storetest"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

const pw = "correct horse battery"

// twoRestaurants gives one e-mail a login with the same password in two
// restaurants, as a clone leaves it.
func twoRestaurants(t *testing.T, db *store.DB) (a, b tenancy.Restaurant, ua, ub tenancy.User) {
	t.Helper()
	auth.SetFastHashingForTests()
	ctx := context.Background()
	hash, err := auth.HashPassword(pw)
	if err != nil {
		t.Fatal(err)
	}
	for i, name := range []string{"Zeta Bistro", "Alpha Sushi"} {
		r, err := db.CreateRestaurant(ctx, name, []string{"ZB", "AS"}[i])
		if err != nil {
			t.Fatal(err)
		}
		u, err := db.CreateUser(tenancy.WithTenant(ctx, r.ID), tenancy.User{Email: "chef@example.test", Role: tenancy.Admin, PasswordHash: hash})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			a, ua = r, u
		} else {
			b, ub = r, u
		}
	}
	return a, b, ua, ub
}

func TestLoginListsRestaurantsByName(t *testing.T) {
	db := storetest.Open(t)
	a, b, _, _ := twoRestaurants(t, db)
	svc := &auth.Service{DB: db, Secret: []byte("test-secret-test-secret-test-secret!")}
	_, err := svc.Login(context.Background(), "chef@example.test", pw, "")
	var choose *auth.ChooseRestaurant
	if !errors.As(err, &choose) {
		t.Fatalf("login: %v, want a choice", err)
	}
	if len(choose.Accounts) != 2 || choose.Accounts[0].RestaurantID != b.ID || choose.Accounts[1].RestaurantID != a.ID ||
		choose.Accounts[0].RestaurantName != "Alpha Sushi" {
		t.Errorf("accounts = %+v, want Alpha Sushi then Zeta Bistro", choose.Accounts)
	}
	if _, err := svc.Login(context.Background(), "chef@example.test", "not the password", ""); !auth.IsBadCredentials(err) {
		t.Errorf("wrong password: %v", err)
	}
}

func TestChoiceTicket(t *testing.T) {
	db := storetest.Open(t)
	ctx := context.Background()
	a, b, ua, _ := twoRestaurants(t, db)
	now := time.Date(2026, 11, 30, 1, 0, 0, 0, time.UTC)
	clock := db.WithClock(func() time.Time { return now })
	svc := &auth.Service{DB: clock, Secret: []byte("test-secret-test-secret-test-secret!")}
	ticketFor := func(t *testing.T) string {
		t.Helper()
		_, err := svc.Login(ctx, "chef@example.test", pw, "")
		var choose *auth.ChooseRestaurant
		if !errors.As(err, &choose) {
			t.Fatalf("login: %v", err)
		}
		ticket, err := svc.ChoiceTicket(choose, "browser-1")
		if err != nil {
			t.Fatal(err)
		}
		return ticket
	}

	t.Run("signs in to an offered restaurant", func(t *testing.T) {
		u, err := svc.LoginWithTicket(ctx, ticketFor(t), "browser-1", a.ID)
		if err != nil || u.ID != ua.ID || u.RestaurantID != a.ID {
			t.Fatalf("login with ticket: %+v %v", u, err)
		}
	})
	t.Run("bound to the browser", func(t *testing.T) {
		if _, err := svc.LoginWithTicket(ctx, ticketFor(t), "browser-2", a.ID); !errors.Is(err, auth.ErrChoiceExpired) {
			t.Errorf("another binding: %v", err)
		}
		if _, err := svc.LoginWithTicket(ctx, ticketFor(t), "", a.ID); !errors.Is(err, auth.ErrChoiceExpired) {
			t.Errorf("no binding: %v", err)
		}
	})
	t.Run("only the restaurants offered", func(t *testing.T) {
		other, err := db.CreateRestaurant(ctx, "Other", "OT")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.LoginWithTicket(ctx, ticketFor(t), "browser-1", other.ID); !apperr.Is(err, apperr.Invalid) {
			t.Errorf("a restaurant not offered: %v", err)
		}
	})
	t.Run("expires", func(t *testing.T) {
		ticket := ticketFor(t)
		later := &auth.Service{DB: db.WithClock(func() time.Time { return now.Add(auth.ChoiceTicketTTL + time.Second) }), Secret: svc.Secret}
		if _, err := later.LoginWithTicket(ctx, ticket, "browser-1", a.ID); !errors.Is(err, auth.ErrChoiceExpired) {
			t.Errorf("expired ticket: %v", err)
		}
	})
	t.Run("a ticket is no session token and the reverse", func(t *testing.T) {
		ticket := ticketFor(t)
		if _, err := svc.Authenticate(ctx, ticket); !apperr.Is(err, apperr.Unauthorized) {
			t.Errorf("ticket as a session token: %v", err)
		}
		token, _, err := svc.Issue(ua)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.LoginWithTicket(ctx, token, "browser-1", a.ID); !errors.Is(err, auth.ErrChoiceExpired) {
			t.Errorf("session token as a ticket: %v", err)
		}
	})
	t.Run("a suspended restaurant is refused", func(t *testing.T) {
		ticket := ticketFor(t)
		if _, err := db.SetRestaurantStatus(tenancy.WithTenant(ctx, a.ID), tenancy.Suspended); err != nil {
			t.Fatal(err)
		}
		defer db.SetRestaurantStatus(tenancy.WithTenant(ctx, a.ID), tenancy.Active)
		if _, err := svc.LoginWithTicket(ctx, ticket, "browser-1", a.ID); !apperr.Is(err, apperr.Forbidden) {
			t.Errorf("suspended: %v", err)
		}
	})
	t.Run("void once the password changes", func(t *testing.T) {
		ticket := ticketFor(t)
		hash, err := auth.HashPassword("a brand new password")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.UpdateUser(tenancy.WithTenant(ctx, b.ID), ticketUser(t, db, b.ID), store.UserPatch{PasswordHash: &hash}); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.LoginWithTicket(ctx, ticket, "browser-1", b.ID); !errors.Is(err, auth.ErrChoiceExpired) {
			t.Errorf("ticket after a password change: %v", err)
		}
	})
}

func ticketUser(t *testing.T, db *store.DB, restaurantID string) string {
	t.Helper()
	users, err := db.LoginCandidatesByEmail(context.Background(), "chef@example.test")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range users {
		if c.User.RestaurantID == restaurantID {
			return c.User.ID
		}
	}
	t.Fatalf("no login in %s", restaurantID)
	return ""
}
