package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// TestRequiredFieldsAreRequired: a menu item without a price, or with a
// null one, is refused instead of costing 0; an explicit 0 is a price.
func TestRequiredFieldsAreRequired(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.tokenFor(tenancy.Admin, e.A)
	cat := e.category(e.A).ID
	for name, body := range map[string]string{
		"missing": `{"category_id":"` + cat + `","name":"Tea"}`,
		"null":    `{"category_id":"` + cat + `","name":"Tea","price_cents":null}`,
	} {
		res := e.do("POST", "/api/v1/menu_items", admin, body)
		if res.Status != http.StatusBadRequest || !strings.Contains(string(res.Body), `"field":"price_cents"`) {
			t.Errorf("%s price_cents: %d %s, want 400 naming price_cents", name, res.Status, res.Body)
		}
	}
	res := e.do("POST", "/api/v1/menu_items", admin, `{"category_id":"`+cat+`","name":"Water","price_cents":0}`)
	if res.Status != http.StatusCreated {
		t.Errorf("price 0: %d %s", res.Status, res.Body)
	}
	item := e.menuItem(e.A, 500)
	res = e.do("PATCH", "/api/v1/menu_items/"+item.ID, admin, `{"price_cents":null}`)
	if res.Status != http.StatusBadRequest || !strings.Contains(string(res.Body), `"field":"price_cents"`) {
		t.Errorf("PATCH price_cents null: %d %s, want 400", res.Status, res.Body)
	}
}

// TestJSONContentType: JSON bodies must say so; a charset parameter naming
// UTF-8 is fine; a body-less request needs no Content-Type.
func TestJSONContentType(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.tokenFor(tenancy.Admin, e.A)
	body := `{"name":"Hana","email":"hana@example.test"}`
	for ct, want := range map[string]int{
		"application/json":                  http.StatusCreated,
		"application/json; charset=utf-8":   http.StatusCreated,
		"Application/JSON; charset=UTF-8":   http.StatusCreated,
		"application/json; charset=latin1":  http.StatusUnsupportedMediaType,
		"text/plain":                        http.StatusUnsupportedMediaType,
		"application/x-www-form-urlencoded": http.StatusUnsupportedMediaType,
		"application/xml":                   http.StatusUnsupportedMediaType,
		"":                                  http.StatusUnsupportedMediaType,
	} {
		res := e.do("POST", "/api/v1/customers", admin, strings.Replace(body, "hana@", strings.NewReplacer("/", "", ";", "", " ", "", "=", "").Replace(ct)+"@", 1), "Content-Type", ct)
		if res.Status != want {
			t.Errorf("Content-Type %q: %d %s, want %d", ct, res.Status, res.Body, want)
		}
		if want == http.StatusUnsupportedMediaType && res.json(t)["error"] == nil {
			t.Errorf("Content-Type %q: 415 without a JSON error body: %s", ct, res.Body)
		}
	}
	// No body, no Content-Type needed.
	rid := e.reservation(e.A).ID
	req, _ := http.NewRequest("POST", e.srv.URL+"/api/v1/reservations/"+rid+"/cancel", nil)
	req.Header.Set("Authorization", "Bearer "+admin)
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("body-less POST: %d", resp.StatusCode)
	}
}

// TestUpperCaseIDs: an id written in upper case names the same record on
// both engines (PostgreSQL compares UUIDs, SQLite text): the API reads ids
// in lower case, in paths, filters and the tenant header.
func TestUpperCaseIDs(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.tokenFor(tenancy.Admin, e.A)
	item := e.menuItem(e.A, 700)
	up := strings.ToUpper(item.ID)
	lower := e.do("GET", "/api/v1/menu_items/"+item.ID, admin, nil)
	upper := e.do("GET", "/api/v1/menu_items/"+up, admin, nil)
	if upper.Status != http.StatusOK || string(upper.Body) != string(lower.Body) {
		t.Errorf("upper-case id: %d %s, want the lower-case answer %d %s", upper.Status, upper.Body, lower.Status, lower.Body)
	}
	res := e.do("GET", "/api/v1/menu_items?category_id="+strings.ToUpper(item.CategoryID), admin, nil)
	if res.Status != http.StatusOK || !strings.Contains(string(res.Body), item.ID) {
		t.Errorf("upper-case id filter: %d %s", res.Status, res.Body)
	}
	res = e.do("GET", "/api/v1/menu_items/"+item.ID, e.tokenFor(tenancy.SuperAdmin, e.A), nil, "X-Restaurant-ID", strings.ToUpper(e.A.R.ID))
	if res.Status != http.StatusOK {
		t.Errorf("upper-case tenant header: %d %s", res.Status, res.Body)
	}
	// A pinned user naming their own restaurant in upper case is not
	// reaching for another.
	res = e.do("GET", "/api/v1/menu_items/"+item.ID, admin, nil, "X-Restaurant-ID", strings.ToUpper(e.A.R.ID))
	if res.Status != http.StatusOK {
		t.Errorf("admin naming own restaurant in upper case: %d %s", res.Status, res.Body)
	}
}

// TestSecurityHeaders: JSON answers are never sniffed as another type, and
// answers to a credential are not cached.
func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, c := range []struct {
		name, method, path, token string
		noStore                   bool
	}{
		{"public", "GET", "/health", "", false},
		{"unknown path", "GET", "/no/such/path", "", false},
		{"authenticated", "GET", "/api/v1/me", e.tokenFor(tenancy.Admin, e.A), true},
		{"authenticated error", "GET", "/api/v1/menu_items/" + "00000000-0000-0000-0000-000000000000", e.tokenFor(tenancy.Admin, e.A), true},
		{"forged token", "GET", "/api/v1/me", "forged", true},
	} {
		res := e.do(c.method, c.path, c.token, nil)
		if got := res.Header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("%s: X-Content-Type-Options %q", c.name, got)
		}
		if got := res.Header.Get("Cache-Control"); c.noStore && got != "no-store" {
			t.Errorf("%s: Cache-Control %q, want no-store", c.name, got)
		}
	}
}
