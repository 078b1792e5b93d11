package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/shimizu-tech/ordersuite/internal/auth"
	"github.com/shimizu-tech/ordersuite/internal/backup"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

type restaurantChoice struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Role string `json:"role"`
}

type chooseAnswer struct {
	Error struct {
		Code, Message, Field string
	} `json:"error"`
	Restaurants []restaurantChoice `json:"restaurants"`
}

// cloneRestaurant copies a restaurant with the backup service, as an
// operator's clone or restore-as-new would: every user comes along with its
// e-mail and password hash.
func (e *env) cloneRestaurant(t *testing.T, sourceID, newName string) tenancy.Restaurant {
	t.Helper()
	dir := t.TempDir()
	svc := &backup.Service{DB: e.db, Storage: backup.Dir{Path: filepath.Join(dir, "backups")}, AppVersion: "test", TempDir: dir}
	stats, err := svc.Clone(context.Background(), sourceID, newName, "test", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := e.db.Restaurant(context.Background(), stats.RestaurantID)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestLoginAfterCloneOffersTheRestaurants(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	owner := e.newUser(e.A.R.ID, "owner@example.test", tenancy.Admin)
	clone := e.cloneRestaurant(t, e.A.R.ID, "Alpha Sushi (training)")
	// The same e-mail with another password in a third restaurant is none of
	// this person's business, even after the password is verified.
	other := e.newTenant("Gamma Grill", "GG")
	hash, err := auth.HashPassword("another secret password")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.CreateUser(tenancy.WithTenant(ctx, other.R.ID),
		tenancy.User{Email: "owner@example.test", Name: "Gamma owner", Role: tenancy.Staff, PasswordHash: hash}); err != nil {
		t.Fatal(err)
	}

	t.Run("without restaurant_id the answer lists the restaurants where the password verifies", func(t *testing.T) {
		res := e.do("POST", "/login", "", map[string]any{"email": "Owner@Example.test", "password": testPassword})
		if res.Status != http.StatusConflict {
			t.Fatalf("login: %d %s", res.Status, res.Body)
		}
		got := decode[chooseAnswer](t, res)
		if got.Error.Code != "choose_restaurant" || got.Error.Field != "restaurant_id" {
			t.Errorf("error = %+v", got.Error)
		}
		want := []restaurantChoice{
			{ID: e.A.R.ID, Name: "Alpha Sushi", Role: "admin"},
			{ID: clone.ID, Name: "Alpha Sushi (training)", Role: "admin"},
		}
		if !reflect.DeepEqual(got.Restaurants, want) {
			t.Errorf("restaurants = %+v, want %+v", got.Restaurants, want)
		}
		if strings.Contains(string(res.Body), other.R.ID) || strings.Contains(string(res.Body), "jwt") {
			t.Errorf("the answer names a restaurant whose password differs, or carries a token: %s", res.Body)
		}
	})
	t.Run("with one of them the token is for that one", func(t *testing.T) {
		for _, rid := range []string{clone.ID, e.A.R.ID} {
			status, tok, m := e.login(t, "owner@example.test", testPassword, rid)
			if status != http.StatusOK || tok == "" {
				t.Fatalf("login into %s: %d %v", rid, status, m)
			}
			if got := m["user"].(map[string]any)["restaurant_id"]; got != rid {
				t.Errorf("user of restaurant %v, want %s", got, rid)
			}
			me := e.do("GET", "/api/v1/me", tok, nil)
			if me.Status != http.StatusOK || !strings.Contains(string(me.Body), rid) {
				t.Errorf("me with the token for %s: %d %s", rid, me.Status, me.Body)
			}
		}
		if _, _, m := e.login(t, "owner@example.test", testPassword, e.A.R.ID); m["user"].(map[string]any)["id"] != owner.ID {
			t.Errorf("the original restaurant's login is not the original user: %v", m)
		}
	})
	t.Run("a wrong password answers the same 401 as an unknown e-mail, with no list", func(t *testing.T) {
		wrong := e.do("POST", "/login", "", map[string]any{"email": "owner@example.test", "password": "not the password"})
		unknown := e.do("POST", "/login", "", map[string]any{"email": "nobody@example.test", "password": "not the password"})
		if wrong.Status != http.StatusUnauthorized || string(wrong.Body) != string(unknown.Body) {
			t.Fatalf("wrong password: %d %s; unknown e-mail: %d %s", wrong.Status, wrong.Body, unknown.Status, unknown.Body)
		}
		for _, id := range []string{e.A.R.ID, clone.ID, other.R.ID} {
			if strings.Contains(string(wrong.Body), id) {
				t.Errorf("a wrong password reveals restaurant %s: %s", id, wrong.Body)
			}
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(wrong.Body, &m); err != nil || m["restaurants"] != nil {
			t.Errorf("a wrong password answers a list: %s", wrong.Body)
		}
	})
	t.Run("a restaurant where the e-mail has no account answers 401", func(t *testing.T) {
		if status, _, m := e.login(t, "owner@example.test", testPassword, e.B.R.ID); status != http.StatusUnauthorized {
			t.Errorf("login naming another restaurant: %d %v", status, m)
		}
	})
	t.Run("the other password signs into its only restaurant", func(t *testing.T) {
		status, _, m := e.login(t, "owner@example.test", "another secret password", "")
		if status != http.StatusOK || m["user"].(map[string]any)["restaurant_id"] != other.R.ID {
			t.Errorf("login: %d %v", status, m)
		}
	})
	t.Run("a suspended restaurant is not offered", func(t *testing.T) {
		if _, err := e.db.SetRestaurantStatus(tenancy.WithTenant(ctx, clone.ID), tenancy.Suspended); err != nil {
			t.Fatal(err)
		}
		defer e.db.SetRestaurantStatus(tenancy.WithTenant(ctx, clone.ID), tenancy.Active)
		status, _, m := e.login(t, "owner@example.test", testPassword, "")
		if status != http.StatusOK || m["user"].(map[string]any)["restaurant_id"] != e.A.R.ID {
			t.Errorf("login with the clone suspended: %d %v", status, m)
		}
		if status, _, m := e.login(t, "owner@example.test", testPassword, clone.ID); status != http.StatusForbidden {
			t.Errorf("login naming the suspended clone: %d %v", status, m)
		}
	})
}

func TestLoginPlatformOperatorSharingAnEmail(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.newUser(e.A.R.ID, "root@platform.test", tenancy.Admin)
	e.newUser(e.B.R.ID, "root@platform.test", tenancy.Admin)
	status, _, m := e.login(t, "root@platform.test", testPassword, "")
	if status != http.StatusOK || m["user"].(map[string]any)["role"] != "super_admin" {
		t.Fatalf("without restaurant_id the platform operator signs in: %d %v", status, m)
	}
	status, _, m = e.login(t, "root@platform.test", testPassword, e.B.R.ID)
	if status != http.StatusOK || m["user"].(map[string]any)["restaurant_id"] != e.B.R.ID {
		t.Fatalf("naming a restaurant signs into it: %d %v", status, m)
	}
}

func TestLoginAnswersMatchOpenAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, router := e.apiDoc()
	e.newUser(e.A.R.ID, "twice@example.test", tenancy.Admin)
	e.newUser(e.B.R.ID, "twice@example.test", tenancy.Staff)
	for _, c := range []struct {
		body   map[string]any
		status int
	}{
		{map[string]any{"email": "twice@example.test", "password": testPassword}, http.StatusConflict},
		{map[string]any{"email": "twice@example.test", "password": testPassword, "restaurant_id": e.B.R.ID}, http.StatusOK},
		{map[string]any{"email": "twice@example.test", "password": "wrong password!"}, http.StatusUnauthorized},
		{map[string]any{"email": "twice@example.test"}, http.StatusBadRequest},
	} {
		if res := e.validated(router, "POST", "/login", "", c.body); res.Status != c.status {
			t.Errorf("%v: %d %s, want %d", c.body, res.Status, res.Body, c.status)
		}
	}
}
