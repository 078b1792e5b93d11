package httpapi_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/shimizu-tech/ordersuite/internal/auth"
	"github.com/shimizu-tech/ordersuite/internal/httpapi"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

func (e *env) login(t *testing.T, email, password, restaurantID string) (int, string, map[string]any) {
	t.Helper()
	body := map[string]any{"email": email, "password": password}
	if restaurantID != "" {
		body["restaurant_id"] = restaurantID
	}
	res := e.do("POST", "/login", "", body)
	m := res.json(t)
	tok, _ := m["jwt"].(string)
	return res.Status, tok, m
}

func TestLogin(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	t.Run("tenant user gets a token carrying the tenant and role", func(t *testing.T) {
		status, tok, m := e.login(t, "ADMIN@as.test ", testPassword, "")
		if status != http.StatusOK || tok == "" {
			t.Fatalf("login: %d %v", status, m)
		}
		user := m["user"].(map[string]any)
		if user["restaurant_id"] != e.A.R.ID || user["role"] != "admin" || user["password_hash"] != nil {
			t.Errorf("user = %v", user)
		}
		res := e.do("GET", "/api/v1/me", tok, nil)
		if res.Status != http.StatusOK || !strings.Contains(string(res.Body), e.A.Users[tenancy.Admin].ID) {
			t.Errorf("me: %d %s", res.Status, res.Body)
		}
		var claims auth.Claims
		parts := strings.Split(tok, ".")
		if len(parts) != 3 {
			t.Fatalf("token is not a JWT: %q", tok)
		}
		raw, err := jwtSegment(parts[1])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, &claims); err != nil {
			t.Fatal(err)
		}
		if claims.UserID == "" || claims.RestaurantID != e.A.R.ID || claims.Role != "admin" || claims.ID == "" || claims.ExpiresAt == nil {
			t.Errorf("claims = %+v", claims)
		}
		if d := claims.ExpiresAt.Sub(claims.IssuedAt.Time); d != auth.TokenTTL {
			t.Errorf("token lifetime %v, want %v", d, auth.TokenTTL)
		}
	})
	t.Run("super_admin logs in without a restaurant", func(t *testing.T) {
		status, tok, m := e.login(t, "root@platform.test", testPassword, "")
		if status != http.StatusOK || m["user"].(map[string]any)["role"] != "super_admin" {
			t.Fatalf("login: %d %v", status, m)
		}
		if res := e.do("GET", "/api/v1/restaurants", tok, nil); res.Status != http.StatusOK {
			t.Errorf("list restaurants: %d %s", res.Status, res.Body)
		}
	})
	t.Run("wrong password and unknown e-mail answer alike", func(t *testing.T) {
		s1, _, m1 := e.login(t, "admin@as.test", "wrong password!", "")
		s2, _, m2 := e.login(t, "nobody@as.test", "wrong password!", "")
		if s1 != http.StatusUnauthorized || s2 != http.StatusUnauthorized {
			t.Fatalf("statuses %d, %d", s1, s2)
		}
		b1, _ := json.Marshal(m1)
		b2, _ := json.Marshal(m2)
		if string(b1) != string(b2) {
			t.Errorf("answers differ: %s vs %s", b1, b2)
		}
	})
	t.Run("an e-mail in several tenants needs restaurant_id only when the password matches in several", func(t *testing.T) {
		e.newUser(e.A.R.ID, "shared@example.test", tenancy.Staff)
		e.newUser(e.B.R.ID, "shared@example.test", tenancy.Staff)
		status, _, m := e.login(t, "shared@example.test", testPassword, "")
		if status != http.StatusConflict || m["error"].(map[string]any)["field"] != "restaurant_id" {
			t.Fatalf("ambiguous login: %d %v", status, m)
		}
		status, _, m = e.login(t, "shared@example.test", testPassword, e.B.R.ID)
		if status != http.StatusOK || m["user"].(map[string]any)["restaurant_id"] != e.B.R.ID {
			t.Fatalf("login with restaurant_id: %d %v", status, m)
		}
	})
	t.Run("users of a suspended restaurant cannot log in", func(t *testing.T) {
		if _, err := e.db.SetRestaurantStatus(tenancy.WithTenant(context.Background(), e.B.R.ID), tenancy.Suspended); err != nil {
			t.Fatal(err)
		}
		defer e.db.SetRestaurantStatus(tenancy.WithTenant(context.Background(), e.B.R.ID), tenancy.Active)
		if status, _, m := e.login(t, "admin@bb.test", testPassword, ""); status != http.StatusForbidden {
			t.Fatalf("suspended login: %d %v", status, m)
		}
	})
	t.Run("missing fields are named", func(t *testing.T) {
		res := e.do("POST", "/login", "", map[string]any{"email": "a@b.c"})
		if res.Status != http.StatusBadRequest || res.json(t)["error"].(map[string]any)["field"] != "password" {
			t.Errorf("%d %s", res.Status, res.Body)
		}
	})
}

func TestRevocation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ok := func(tok string) bool { return e.do("GET", "/api/v1/me", tok, nil).Status == http.StatusOK }

	t.Run("logout revokes that token only", func(t *testing.T) {
		t1, t2 := e.token(e.A.Users[tenancy.Staff]), e.token(e.A.Users[tenancy.Staff])
		if res := e.do("POST", "/logout", t1, nil); res.Status != http.StatusNoContent {
			t.Fatalf("logout: %d %s", res.Status, res.Body)
		}
		if ok(t1) || !ok(t2) {
			t.Errorf("after logout: first token works=%v, second works=%v", ok(t1), ok(t2))
		}
	})
	t.Run("per user", func(t *testing.T) {
		staff := e.A.Users[tenancy.Staff]
		old, other := e.token(staff), e.token(e.A.Users[tenancy.Customer])
		res := e.do("POST", "/api/v1/users/"+staff.ID+"/revoke_tokens", e.token(e.A.Users[tenancy.Admin]), nil)
		if res.Status != http.StatusOK {
			t.Fatalf("revoke: %d %s", res.Status, res.Body)
		}
		if ok(old) || !ok(other) || !ok(e.token(staff)) {
			t.Errorf("old works=%v, other user works=%v, new token works=%v", ok(old), ok(other), ok(e.token(staff)))
		}
	})
	t.Run("password change revokes the user's tokens", func(t *testing.T) {
		cust := e.A.Users[tenancy.Customer]
		old := e.token(cust)
		res := e.do("PATCH", "/api/v1/users/"+cust.ID, e.token(e.A.Users[tenancy.Admin]), map[string]any{"password": "a brand new password"})
		if res.Status != http.StatusOK {
			t.Fatalf("patch: %d %s", res.Status, res.Body)
		}
		if ok(old) {
			t.Error("token issued before the password change still works")
		}
		if status, _, _ := e.login(t, cust.Email, "a brand new password", ""); status != http.StatusOK {
			t.Errorf("login with the new password: %d", status)
		}
	})
	t.Run("whole tenant", func(t *testing.T) {
		a1, a2, b1 := e.token(e.A.Users[tenancy.Admin]), e.token(e.A.Users[tenancy.Customer]), e.token(e.B.Users[tenancy.Admin])
		res := e.do("POST", "/admin/restaurants/"+e.A.R.ID+"/revoke_tokens", e.token(e.super), nil)
		if res.Status != http.StatusOK {
			t.Fatalf("revoke tenant: %d %s", res.Status, res.Body)
		}
		if ok(a1) || ok(a2) || !ok(b1) {
			t.Errorf("A admin works=%v, A customer works=%v, B admin works=%v", ok(a1), ok(a2), ok(b1))
		}
		if !ok(e.token(e.A.Users[tenancy.Admin])) {
			t.Error("a token issued after the revocation does not work")
		}
	})
	t.Run("deleted user", func(t *testing.T) {
		u := e.newUser(e.A.R.ID, "leaver@as.test", tenancy.Staff)
		tok := e.token(u)
		if res := e.do("DELETE", "/api/v1/users/"+u.ID, e.token(e.A.Users[tenancy.Admin]), nil); res.Status != http.StatusNoContent {
			t.Fatalf("delete: %d %s", res.Status, res.Body)
		}
		if ok(tok) {
			t.Error("a deleted user's token still works")
		}
	})
	t.Run("role change invalidates tokens carrying the old role", func(t *testing.T) {
		u := e.newUser(e.A.R.ID, "promoted@as.test", tenancy.Staff)
		tok := e.token(u)
		role := "admin"
		if res := e.do("PATCH", "/api/v1/users/"+u.ID, e.token(e.A.Users[tenancy.Admin]), map[string]any{"role": role}); res.Status != http.StatusOK {
			t.Fatalf("patch: %d %s", res.Status, res.Body)
		}
		if ok(tok) {
			t.Error("a token with the old role still works")
		}
	})
	t.Run("tokens signed with another secret or algorithm are refused", func(t *testing.T) {
		other := &auth.Service{DB: e.db, Secret: []byte("another-secret-another-secret-12345")}
		forged, _, err := other.Issue(e.A.Users[tenancy.Admin])
		if err != nil {
			t.Fatal(err)
		}
		if ok(forged) {
			t.Error("token signed with another secret accepted")
		}
		none := "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0." + strings.Split(e.token(e.A.Users[tenancy.Admin]), ".")[1] + "."
		if ok(none) {
			t.Error("alg=none token accepted")
		}
	})
}

func TestAuditLog(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.token(e.A.Users[tenancy.Admin])
	res := e.do("PATCH", "/api/v1/restaurants/"+e.A.R.ID, admin, map[string]any{"name": "Alpha Sushi Bar"})
	if res.Status != http.StatusOK {
		t.Fatalf("patch: %d %s", res.Status, res.Body)
	}
	res = e.do("POST", "/api/v1/users", admin, map[string]any{"email": "chef@as.test", "role": "staff", "password": "a long enough password"})
	if res.Status != http.StatusCreated {
		t.Fatalf("create user: %d %s", res.Status, res.Body)
	}
	// Staff writes are not audited; operator writes are, in the tenant acted on.
	e.do("POST", "/admin/restaurants/"+e.A.R.ID+"/status", e.token(e.super), map[string]any{"status": "read_only"})

	res = e.do("GET", "/admin/audit_log", admin, nil)
	if res.Status != http.StatusOK {
		t.Fatalf("audit log: %d %s", res.Status, res.Body)
	}
	var body struct {
		Entries []struct {
			ActorID      string         `json:"actor_id"`
			ActorRole    string         `json:"actor_role"`
			Action       string         `json:"action"`
			ResourceType string         `json:"resource_type"`
			ResourceID   string         `json:"resource_id"`
			IP           string         `json:"ip"`
			RestaurantID string         `json:"restaurant_id"`
			Before       map[string]any `json:"before"`
			After        map[string]any `json:"after"`
		}
	}
	if err := json.Unmarshal(res.Body, &body); err != nil {
		t.Fatal(err)
	}
	if len(body.Entries) != 3 {
		t.Fatalf("%d entries, want 3: %s", len(body.Entries), res.Body)
	}
	status, create, update := body.Entries[0], body.Entries[1], body.Entries[2]
	if update.Action != "update" || update.Before["name"] != "Alpha Sushi" || update.After["name"] != "Alpha Sushi Bar" ||
		update.ActorRole != "admin" || update.ActorID != e.A.Users[tenancy.Admin].ID || update.ResourceID != e.A.R.ID || update.IP != "127.0.0.1" || update.RestaurantID != e.A.R.ID {
		t.Errorf("update entry = %+v", update)
	}
	if create.Action != "create" || create.ResourceType != "user" || create.Before != nil || create.After["email"] != "chef@as.test" {
		t.Errorf("create entry = %+v", create)
	}
	if _, leaked := create.After["password_hash"]; leaked {
		t.Error("the audit log holds a password hash")
	}
	if status.Action != "set_status" || status.ActorRole != "super_admin" || status.After["status"] != "read_only" {
		t.Errorf("status entry = %+v", status)
	}
	if res := e.do("GET", "/admin/audit_log", e.token(e.B.Users[tenancy.Admin]), nil); strings.Contains(string(res.Body), e.A.R.ID) {
		t.Errorf("tenant B sees tenant A's audit log: %s", res.Body)
	}
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.token(e.A.Users[tenancy.Admin])
	cases := []struct {
		name, body string
		status     int
		field      string
	}{
		{"malformed JSON", `{"email": `, 400, ""},
		{"not an object", `[1,2,3]`, 400, ""},
		{"wrong type", `{"email":"x@y.zz","role":"staff","password":12345678901}`, 400, "password"},
		{"unknown field", `{"email":"x@y.zz","role":"staff","password":"long enough pw","is_admin":true}`, 400, "is_admin"},
		{"trailing data", `{"email":"x@y.zz","role":"staff","password":"long enough pw"} {}`, 400, ""},
		{"empty body", ``, 400, ""},
		{"bad email", `{"email":"nope","role":"staff","password":"long enough pw"}`, 400, "email"},
		{"super_admin role", `{"email":"x@y.zz","role":"super_admin","password":"long enough pw"}`, 400, "role"},
		{"short password", `{"email":"x@y.zz","role":"staff","password":"short"}`, 400, "password"},
		{"huge body", `{"name":"` + strings.Repeat("a", 2<<20) + `"}`, 413, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := e.do("POST", "/api/v1/users", admin, c.body)
			if res.Status != c.status {
				t.Fatalf("%d, want %d: %s", res.Status, c.status, res.Body)
			}
			errObj, _ := res.json(t)["error"].(map[string]any)
			if errObj == nil || errObj["message"] == "" {
				t.Fatalf("no error message: %s", res.Body)
			}
			if c.field != "" && errObj["field"] != c.field {
				t.Errorf("field = %v, want %s", errObj["field"], c.field)
			}
		})
	}
	for _, path := range []string{"/api/v1/users/not-a-uuid", "/api/v1/users/00000000-0000-0000-0000-000000000000", "/api/v1/users/%27%3B--"} {
		if res := e.do("GET", path, admin, nil); res.Status != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, res.Status)
		}
	}
	for _, q := range []string{"page=0", "per_page=1000", "page=x"} {
		if res := e.do("GET", "/api/v1/users?"+q, admin, nil); res.Status != http.StatusBadRequest {
			t.Errorf("GET users?%s: %d, want 400", q, res.Status)
		}
	}
	superTok := e.token(e.super)
	if res := e.do("GET", "/api/v1/users", superTok, nil); res.Status != http.StatusBadRequest ||
		res.json(t)["error"].(map[string]any)["field"] != httpapi.TenantHeader {
		t.Errorf("super_admin without a tenant: %d %s", res.Status, res.Body)
	}
	if res := e.do("GET", "/api/v1/users", superTok, nil, httpapi.TenantHeader, "01a20959-0000-7000-8000-000000000000"); res.Status != http.StatusNotFound {
		t.Errorf("super_admin naming an unknown tenant: %d %s", res.Status, res.Body)
	}
}

func TestHealthReadyMetrics(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if res := e.do("GET", "/health", "", nil); res.Status != 200 {
		t.Errorf("health: %d", res.Status)
	}
	if res := e.do("GET", "/ready", "", nil); res.Status != 200 || res.json(t)["status"] != "ready" {
		t.Errorf("ready: %d %s", res.Status, res.Body)
	}
	e.do("GET", "/api/v1/users/"+e.A.Users[tenancy.Staff].ID, e.token(e.A.Users[tenancy.Admin]), nil)
	res := e.do("GET", "/metrics", "", nil)
	body := string(res.Body)
	for _, want := range []string{
		`http_requests_total{method="GET",route="/api/v1/users/{id}",status="200"} 1`,
		"go_goroutines", "process_cpu_seconds_total", "http_request_duration_seconds_bucket",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(body, e.A.Users[tenancy.Staff].ID) {
		t.Error("a raw path (with a user id) leaked into metric labels")
	}
	e.db.Close()
	if res := e.do("GET", "/ready", "", nil); res.Status != http.StatusServiceUnavailable {
		t.Errorf("ready with the database closed: %d %s", res.Status, res.Body)
	}
}

func jwtSegment(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(s)
}
