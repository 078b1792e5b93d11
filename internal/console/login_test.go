package console_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/shimizu-tech/ordersuite/internal/auth"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// sameEmailElsewhere gives admin@as.test a login in a clone of Alpha Sushi
// (as a clone or a restore as new does) and a staff login in Beta Burgers,
// all with the same password.
func (e *env) sameEmailElsewhere(t *testing.T) tenancy.Restaurant {
	t.Helper()
	ctx := context.Background()
	stats, err := e.backups.Clone(ctx, e.A.ID, "Alpha Sushi (training)", "test", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	clone, err := e.db.Restaurant(ctx, stats.RestaurantID)
	if err != nil {
		t.Fatal(err)
	}
	hash, err := auth.HashPassword(password)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.CreateUser(tenancy.WithTenant(ctx, e.B.ID),
		tenancy.User{Email: "admin@as.test", Name: "Alpha admin helping out", Role: tenancy.Staff, PasswordHash: hash}); err != nil {
		t.Fatal(err)
	}
	return clone
}

func TestLoginChoosesRestaurantByName(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	clone := e.sameEmailElsewhere(t)

	// choice signs in with the password and returns the second step's page.
	choice := func(t *testing.T, b *browser) page {
		t.Helper()
		b.get("/console/login?next=" + url.QueryEscape("/console/t/"+clone.ID+"/flags"))
		p := b.post("/console/login", url.Values{"email": {"Admin@AS.test"}, "password": {password},
			"next": {"/console/t/" + clone.ID + "/flags"}})
		if p.Status != http.StatusOK || !strings.Contains(p.Body, "Choose a restaurant") {
			t.Fatalf("first step: %d\n%s", p.Status, p.Body)
		}
		return p
	}

	t.Run("the password leads to a list of the restaurants by name", func(t *testing.T) {
		p := choice(t, e.browser())
		for _, want := range []string{">Alpha Sushi\n", ">Alpha Sushi (training)\n", `value="` + e.A.ID + `"`, `value="` + clone.ID + `"`,
			`name="email" value="admin@as.test"`, "<strong>admin@as.test</strong>"} {
			if !strings.Contains(p.Body, want) {
				t.Errorf("the choice lacks %q\n%s", want, p.Body)
			}
		}
		if strings.Contains(p.Body, e.B.ID) || strings.Contains(p.Body, "Beta Burgers") {
			t.Errorf("a restaurant where the login is staff is offered in the console\n%s", p.Body)
		}
		if strings.Contains(p.Body, password) || strings.Contains(p.Body, `name="password"`) {
			t.Errorf("the second step carries the password\n%s", p.Body)
		}
	})
	t.Run("choosing one signs in to that one", func(t *testing.T) {
		b := e.browser()
		p := choice(t, b)
		p = b.post("/console/login", url.Values{"email": {"admin@as.test"}, "ticket": {ticketField.FindStringSubmatch(p.Body)[1]},
			"restaurant_id": {clone.ID}, "next": {"/console/t/" + clone.ID + "/flags"}})
		if p.Status != http.StatusSeeOther || p.Location != "/console/t/"+clone.ID+"/flags" {
			t.Fatalf("second step: %d %s\n%s", p.Status, p.Location, p.Body)
		}
		if p := b.get("/console/"); p.Location != tenantPath(clone.ID, "/") {
			t.Errorf("signed in to %s, want the clone", p.Location)
		}
		if p := b.get(tenantPath(e.A.ID, "/flags")); p.Status != http.StatusNotFound {
			t.Errorf("the clone's session opens the original restaurant: %d", p.Status)
		}
	})
	t.Run("a wrong password names no restaurant", func(t *testing.T) {
		b := e.browser()
		b.get("/console/login")
		p := b.post("/console/login", url.Values{"email": {"admin@as.test"}, "password": {"wrong password!"}})
		if p.Status != http.StatusUnauthorized || !strings.Contains(p.Body, "The e-mail or password is wrong.") {
			t.Fatalf("%d\n%s", p.Status, p.Body)
		}
		for _, leak := range []string{"Alpha Sushi", clone.ID, e.A.ID, `name="ticket"`} {
			if strings.Contains(p.Body, leak) {
				t.Errorf("a wrong password reveals %q", leak)
			}
		}
	})
	t.Run("the choice works only in the browser that gave the password", func(t *testing.T) {
		p := choice(t, e.browser())
		ticket := ticketField.FindStringSubmatch(p.Body)[1]
		other := e.browser()
		other.get("/console/login")
		p = other.post("/console/login", url.Values{"email": {"admin@as.test"}, "ticket": {ticket}, "restaurant_id": {clone.ID}})
		if p.Status != http.StatusUnauthorized || !strings.Contains(p.Body, "expired") {
			t.Errorf("another browser used the ticket: %d\n%s", p.Status, p.Body)
		}
	})
	t.Run("only an offered restaurant can be chosen", func(t *testing.T) {
		b := e.browser()
		p := choice(t, b)
		ticket := ticketField.FindStringSubmatch(p.Body)[1]
		p = b.post("/console/login", url.Values{"email": {"admin@as.test"}, "ticket": {ticket}, "restaurant_id": {e.B.ID}})
		if p.Status != http.StatusUnauthorized || !strings.Contains(p.Body, "not one of those offered") {
			t.Errorf("choosing Beta Burgers: %d\n%s", p.Status, p.Body)
		}
		if p := b.get("/console/"); p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Location, "/console/login") {
			t.Errorf("signed in after a refused choice: %d %s", p.Status, p.Location)
		}
	})
	t.Run("a forged ticket is refused", func(t *testing.T) {
		b := e.browser()
		p := choice(t, b)
		ticket := ticketField.FindStringSubmatch(p.Body)[1]
		p = b.post("/console/login", url.Values{"email": {"admin@as.test"}, "ticket": {ticket[:len(ticket)-3] + "AAA"}, "restaurant_id": {clone.ID}})
		if p.Status != http.StatusUnauthorized || !strings.Contains(p.Body, "expired") {
			t.Errorf("forged ticket: %d\n%s", p.Status, p.Body)
		}
	})
	t.Run("the second step needs the form's token", func(t *testing.T) {
		b := e.browser()
		p := choice(t, b)
		ticket := ticketField.FindStringSubmatch(p.Body)[1]
		p = b.post("/console/login", url.Values{"email": {"admin@as.test"}, "ticket": {ticket}, "restaurant_id": {clone.ID}, "csrf": {"forged"}})
		if p.Status != http.StatusForbidden {
			t.Errorf("second step without the token: %d\n%s", p.Status, p.Body)
		}
	})
	t.Run("with one administrator login among several the console signs in to it", func(t *testing.T) {
		if _, err := e.db.SetRestaurantStatus(tenancy.WithTenant(context.Background(), clone.ID), tenancy.Suspended); err != nil {
			t.Fatal(err)
		}
		defer e.db.SetRestaurantStatus(tenancy.WithTenant(context.Background(), clone.ID), tenancy.Active)
		b := e.browser()
		b.login("admin@as.test")
		if p := b.get("/console/"); p.Location != tenantPath(e.A.ID, "/") {
			t.Errorf("signed in to %s, want Alpha Sushi", p.Location)
		}
	})
}
