package httpapi_test

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// TestMeFollowsProfileChanges: GET /api/v1/me answers from the auth state in
// memory, so a new name, e-mail or role must reach it at once on the
// instance that made the change — and an operator's too.
func TestMeFollowsProfileChanges(t *testing.T) {
	e := newEnv(t)
	staff := e.A.Users[tenancy.Staff]
	tok := e.token(staff)
	admin := e.admin(e.A)
	me := func(token string) map[string]any {
		t.Helper()
		res := e.do("GET", "/api/v1/me", token, nil)
		return e.expect(res, http.StatusOK, "me")["user"].(map[string]any)
	}
	for range 3 { // served from memory from the second call on
		if u := me(tok); u["name"] != staff.Name || u["email"] != staff.Email {
			t.Fatalf("me before the change: %v", u)
		}
	}
	e.expect(e.do("PATCH", "/api/v1/users/"+staff.ID, admin, map[string]any{"name": "Renamed", "email": "renamed@as.test"}), http.StatusOK, "rename")
	u := me(tok)
	if u["name"] != "Renamed" || u["email"] != "renamed@as.test" {
		t.Fatalf("me right after a rename shows %v", u)
	}
	before := u["updated_at"]
	e.expect(e.do("PATCH", "/api/v1/users/"+staff.ID, admin, map[string]any{"name": "Renamed Again"}), http.StatusOK, "rename")
	if u := me(tok); u["name"] != "Renamed Again" || u["updated_at"] == before {
		t.Fatalf("me right after a second rename shows %v", u)
	}
	// What /me shows is the row itself, field for field.
	got := me(tok)
	res := e.do("GET", "/api/v1/users/"+staff.ID, admin, nil)
	row := e.expect(res, http.StatusOK, "user")
	if r, ok := row["user"].(map[string]any); ok {
		row = r
	}
	for _, f := range []string{"id", "restaurant_id", "email", "name", "role", "created_at", "updated_at"} {
		if got[f] != row[f] {
			t.Errorf("me %s = %v, the user row has %v", f, got[f], row[f])
		}
	}
	op := e.token(e.super)
	for range 2 {
		if u := me(op); u["email"] != e.super.Email || u["role"] != string(tenancy.SuperAdmin) {
			t.Fatalf("operator me: %v", u)
		}
	}
}

// TestProfileChangeReachesEveryInstance: on PostgreSQL, a rename made on
// one instance shows in GET /api/v1/me on the other two within a second
// (their safety-net check an hour away, so the notification carries it).
func TestProfileChangeReachesEveryInstance(t *testing.T) {
	c := newCluster(t, 3, time.Hour)
	first, others := c.instances[0], c.instances[1:]
	adminTok := c.token(c.admin)
	victim := c.user(tenancy.Staff)
	tok := c.token(victim)
	name := func(in *instance) string {
		t.Helper()
		req, _ := http.NewRequest("GET", in.url+"/api/v1/me", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		var body struct {
			User struct{ Name string } `json:"user"`
		}
		if res.StatusCode != http.StatusOK || json.Unmarshal(b, &body) != nil {
			t.Fatalf("me: %d %s", res.StatusCode, b)
		}
		return body.User.Name
	}
	var worst time.Duration
	for i := range 20 {
		for _, in := range c.instances {
			name(in) // cached everywhere
		}
		want := "Name " + time.Now().Format(time.RFC3339Nano)
		start := time.Now()
		if s := first.call(t, "PATCH", "/api/v1/users/"+victim.ID, adminTok, map[string]any{"name": want}); s != http.StatusOK {
			t.Fatalf("rename: %d", s)
		}
		if got := name(first); got != want {
			t.Fatalf("try %d: the instance that renamed shows %q", i, got)
		}
		for _, in := range others {
			for name(in) != want {
				if time.Since(start) > time.Second {
					t.Fatalf("try %d: rename not shown after %v", i, time.Since(start))
				}
				time.Sleep(2 * time.Millisecond)
			}
			worst = max(worst, time.Since(start))
		}
	}
	t.Logf("rename shown by GET /api/v1/me on the other instances within %v at most (20 tries)", worst)
}
