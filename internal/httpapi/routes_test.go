package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/shimizu-tech/ordersuite/internal/events"
	"github.com/shimizu-tech/ordersuite/internal/httpapi"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// validBodies are well-formed bodies for write routes, so the generated
// tests exercise the write itself and not only input validation.
var validBodies = map[string]any{
	"POST /api/v1/restaurants":              map[string]any{"name": "Gamma Grill"},
	"PATCH /api/v1/restaurants/{id}":        map[string]any{"name": "Renamed"},
	"POST /api/v1/users":                    map[string]any{"email": "new@example.test", "role": "staff", "password": "a long enough password"},
	"PATCH /api/v1/users/{id}":              map[string]any{"name": "Renamed"},
	"POST /admin/restaurants/{id}/status":   map[string]any{"status": "active"},
	"POST /api/v1/users/{id}/revoke_tokens": map[string]any{},
}

func bodyFor(rt httpapi.Route) any {
	if b, ok := validBodies[rt.Method+" "+rt.Pattern]; ok {
		return b
	}
	if rt.IsWrite() {
		return map[string]any{}
	}
	return nil
}

// tenantHeaderFor is how a caller of role acts on tn: a super_admin names the
// tenant, pinned users are in it already.
func tenantHeaderFor(role tenancy.Role, tn tenant) []string {
	if role == tenancy.SuperAdmin {
		return []string{httpapi.TenantHeader, tn.R.ID}
	}
	return nil
}

func protectedRoutes() []httpapi.Route {
	var out []httpapi.Route
	for _, rt := range httpapi.Routes() {
		if rt.Roles != nil {
			out = append(out, rt)
		}
	}
	return out
}

// eventCount is how many events tenant tn's log holds; the snapshot leaves
// the log out because a tenant's own refused requests are recorded there.
func (e *env) eventCount(tn tenant) int {
	e.t.Helper()
	rows, err := e.db.TenantRows(context.Background(), "tenant_events", tn.R.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	return len(rows)
}

func routeName(rt httpapi.Route) string { return rt.Method + " " + rt.Pattern }

// tenantOnly reports whether a route reads and changes only the tenant it
// acts on, so that its subtests can share a server and database with other
// routes', each with a tenant of its own, and answer as they would alone.
func tenantOnly(rt httpapi.Route) bool {
	return rt.Scope == httpapi.TenantScoped || rt.Scope == httpapi.TenantInPath
}

// TestAuthorizationTable checks every route against every role: each role
// gets exactly what the table says, and no token gets 401.
func TestAuthorizationTable(t *testing.T) {
	t.Parallel()
	shared := newEnv(t)
	for _, rt := range httpapi.Routes() {
		t.Run(routeName(rt), func(t *testing.T) {
			t.Parallel() // each subtest has tenants of its own
			e := shared.forSubtest(t, false)
			if rt.Roles == nil {
				res := e.do(rt.Method, e.pathFor(rt, e.A), "", bodyFor(rt))
				if res.Status == http.StatusUnauthorized || res.Status == http.StatusForbidden || res.Status >= 500 {
					t.Fatalf("public route answered %d: %s", res.Status, res.Body)
				}
				return
			}
			if res := e.do(rt.Method, e.pathFor(rt, e.A), "", bodyFor(rt)); res.Status != http.StatusUnauthorized {
				t.Errorf("without a token: %d, want 401", res.Status)
			}
			if res := e.do(rt.Method, e.pathFor(rt, e.A), "not-a-token", bodyFor(rt)); res.Status != http.StatusUnauthorized {
				t.Errorf("with a forged token: %d, want 401", res.Status)
			}
			for _, role := range tenancy.Roles {
				res := e.do(rt.Method, e.pathFor(rt, e.A), e.tokenFor(role, e.A), bodyFor(rt), tenantHeaderFor(role, e.A)...)
				switch {
				case res.Status >= 500:
					t.Errorf("%s: %d %s", role, res.Status, res.Body)
				case rt.Allows(role) && (res.Status == http.StatusUnauthorized || res.Status == http.StatusForbidden):
					t.Errorf("%s is allowed by the table but got %d: %s", role, res.Status, res.Body)
				case !rt.Allows(role) && res.Status != http.StatusForbidden:
					t.Errorf("%s is not allowed by the table but got %d: %s", role, res.Status, res.Body)
				}
			}
		})
	}
}

// TestTenantIsolation has every role of tenant A (and an operator acting on
// A) ask every route for tenant B's resources: the answer is "not found" or
// A's own data, never B's, and B's rows are unchanged.
func TestTenantIsolation(t *testing.T) {
	t.Parallel()
	shared := newEnv(t)
	for _, rt := range protectedRoutes() {
		if rt.Scope == httpapi.NoTenant {
			continue
		}
		t.Run(routeName(rt), func(t *testing.T) {
			t.Parallel() // each subtest has tenants of its own
			e := shared.forSubtest(t, true)
			for _, role := range tenancy.Roles {
				if !rt.Allows(role) {
					continue
				}
				path := e.pathFor(rt, e.B)
				before, eventsBefore := e.snapshot(e.B), e.eventCount(e.B)
				res := e.do(rt.Method, path, e.tokenFor(role, e.A), bodyFor(rt), tenantHeaderFor(role, e.A)...)
				if n := e.eventCount(e.B); n != eventsBefore {
					t.Errorf("%s of A wrote %d events into tenant B's log", role, n-eventsBefore)
				}
				if strings.Contains(rt.Pattern, "{") && res.Status != http.StatusNotFound {
					t.Errorf("%s of A asking for B's resource: %d, want 404: %s", role, res.Status, res.Body)
				}
				if res.Status >= 500 {
					t.Errorf("%s: %d %s", role, res.Status, res.Body)
				}
				for _, secret := range []string{e.B.R.ID, e.B.R.Name, e.B.Users[tenancy.Admin].ID, e.B.Users[tenancy.Staff].Email} {
					if strings.Contains(string(res.Body), secret) {
						t.Errorf("%s of A saw tenant B's %q in: %s", role, secret, res.Body)
					}
				}
				if after := e.snapshot(e.B); after != before {
					t.Errorf("%s of A changed tenant B's data", role)
				}
			}
		})
	}
}

// TestPinnedUserCannotChooseAnotherTenant: naming another restaurant is
// refused (403), counted and recorded as a security alert, on every route.
func TestPinnedUserCannotChooseAnotherTenant(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	attempts := 0
	// Only the attempts touch tenant B: what it held after one attempt is
	// what it held before the next.
	before := e.snapshot(e.B)
	for _, rt := range protectedRoutes() {
		for _, role := range []tenancy.Role{tenancy.Admin, tenancy.Staff, tenancy.Customer} {
			if !rt.Allows(role) {
				continue
			}
			res := e.do(rt.Method, e.pathFor(rt, e.A), e.tokenFor(role, e.A), bodyFor(rt), httpapi.TenantHeader, e.B.R.ID)
			attempts++
			if res.Status != http.StatusForbidden {
				t.Errorf("%s %s with %s: B: %d, want 403: %s", role, routeName(rt), httpapi.TenantHeader, res.Status, res.Body)
			}
			if after := e.snapshot(e.B); after != before {
				t.Errorf("%s %s changed tenant B", role, routeName(rt))
				before = after
			}
		}
	}
	if got := testutil.ToFloat64(e.metrics.CrossTenantAttempts.WithLabelValues(e.A.R.ID)); int(got) != attempts {
		t.Errorf("tenant_cross_access_attempts_total = %v, want %d", got, attempts)
	}
	alerts, err := e.db.EventsOfType(tenancy.WithTenant(context.Background(), e.A.R.ID), string(events.SecurityAlert), 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(alerts) != attempts {
		t.Errorf("%d security_alert events, want %d", len(alerts), attempts)
	}
	if len(alerts) > 0 && !strings.Contains(string(alerts[0].Data), e.B.R.ID) {
		t.Errorf("alert does not name the requested tenant: %s", alerts[0].Data)
	}
}

// TestReadOnlyAndSuspendedTenants applies the tenant status to every route.
func TestReadOnlyAndSuspendedTenants(t *testing.T) {
	t.Parallel()
	shared := newEnv(t)
	for _, status := range []tenancy.Status{tenancy.ReadOnly, tenancy.Suspended} {
		t.Run(string(status), func(t *testing.T) {
			t.Parallel()
			for _, rt := range protectedRoutes() {
				if rt.Scope == httpapi.NoTenant {
					continue
				}
				t.Run(routeName(rt), func(t *testing.T) {
					t.Parallel() // each subtest has a tenant of its own
					e := shared.forSubtest(t, false)
					path := e.pathFor(rt, e.A)
					ctx := tenancy.WithTenant(context.Background(), e.A.R.ID)
					if _, err := e.db.SetRestaurantStatus(ctx, status); err != nil {
						t.Fatal(err)
					}
					for _, role := range tenancy.Roles {
						if !rt.Allows(role) {
							continue
						}
						res := e.do(rt.Method, path, e.tokenFor(role, e.A), bodyFor(rt), tenantHeaderFor(role, e.A)...)
						want := 0 // anything but a refusal
						switch {
						case status == tenancy.Suspended && role != tenancy.SuperAdmin:
							want = http.StatusForbidden
						case status == tenancy.ReadOnly && rt.IsWrite() && !rt.Always:
							want = http.StatusLocked
						}
						if want != 0 && res.Status != want {
							t.Errorf("%s: %d, want %d: %s", role, res.Status, want, res.Body)
						}
						if want == 0 && (res.Status == http.StatusLocked || res.Status == http.StatusForbidden || res.Status >= 500) {
							t.Errorf("%s: refused with %d: %s", role, res.Status, res.Body)
						}
					}
				})
			}
		})
	}
}

// TestEveryRouteAnswersJSONErrors: wrong methods and unknown paths get JSON.
func TestEveryRouteAnswersJSONErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, rt := range httpapi.Routes() {
		res := e.do("PUT", e.pathFor(rt, e.A), "", nil)
		if res.Status != http.StatusMethodNotAllowed {
			t.Errorf("PUT %s: %d, want 405", rt.Pattern, res.Status)
			continue
		}
		if got := res.json(t)["error"]; got == nil {
			t.Errorf("PUT %s: no error object: %s", rt.Pattern, res.Body)
		}
		if res.Header.Get("Allow") == "" {
			t.Errorf("PUT %s: no Allow header", rt.Pattern)
		}
	}
	res := e.do("GET", "/no/such/thing", "", nil)
	if res.Status != http.StatusNotFound || res.json(t)["error"] == nil {
		t.Errorf("unknown path: %d %s", res.Status, res.Body)
	}
}
