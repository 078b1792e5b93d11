package httpapi

import (
	"strconv"
	"strings"
	"testing"

	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// TestOpenAPIDocumentsEveryRoute: every route has a hand-written shape and
// a tag, and every shape belongs to a route, so a route added without its
// description fails here, naming where to add it.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	t.Parallel()
	shapes := apiShapes()
	seen := map[string]bool{}
	for _, rt := range Routes() {
		key := rt.Method + " " + rt.Pattern
		seen[key] = true
		sh, ok := shapes[key]
		if !ok {
			t.Errorf("route %s has no description: add a shape keyed %q to apiShapes (or adminShapes) in openapi*.go", key, key)
			continue
		}
		if sh.summary == "" {
			t.Errorf("route %s: its shape has no summary", key)
		}
		if sh.status == 0 {
			t.Errorf("route %s: its shape has no success status", key)
		}
		if tagOf(rt.Pattern) == untaggedTag {
			t.Errorf("route %s has no tag: add its path prefix to tags in openapi.go", key)
		}
	}
	for key := range shapes {
		if !seen[key] {
			t.Errorf("apiShapes describes %s, which is no route of the table", key)
		}
	}
}

// TestOpenAPIDerivesFromTheRoute: security, the tenant header and the
// error answers of an operation follow the Route's fields.
func TestOpenAPIDerivesFromTheRoute(t *testing.T) {
	t.Parallel()
	doc := OpenAPI("test")
	paths := doc["paths"].(map[string]map[string]any)
	ids := map[string]string{}
	for _, rt := range Routes() {
		key := rt.Method + " " + rt.Pattern
		op := paths[rt.Pattern][strings.ToLower(rt.Method)].(map[string]any)
		if other, dup := ids[op["operationId"].(string)]; dup {
			t.Errorf("%s and %s share the operationId %s", key, other, op["operationId"])
		}
		ids[op["operationId"].(string)] = key

		schemes := map[string]bool{}
		for _, req := range op["security"].([]any) {
			for name := range req.(map[string]any) {
				schemes[name] = true
			}
		}
		if schemes["bearerJWT"] != (rt.Roles != nil) {
			t.Errorf("%s: bearer JWT security is %v, but the route's Roles are %v", key, schemes["bearerJWT"], rt.Roles)
		}
		if schemes["apiKey"] != rt.APIKey {
			t.Errorf("%s: API key security is %v, but the route's APIKey is %v", key, schemes["apiKey"], rt.APIKey)
		}

		responses := op["responses"].(map[string]any)
		has := func(status int) bool { _, ok := responses[strconv.Itoa(status)]; return ok }
		if rt.Roles != nil && (!has(401) || !has(403)) {
			t.Errorf("%s needs a token but does not document 401 and 403", key)
		}
		if rt.IsWrite() && !rt.Always && rt.Scope != NoTenant && !has(423) {
			t.Errorf("%s writes to a tenant but does not document 423 (read-only tenant)", key)
		}
		if strings.Contains(rt.Pattern, "{") && !has(404) {
			t.Errorf("%s names a resource in its path but does not document 404", key)
		}
		four := false
		for code := range responses {
			four = four || strings.HasPrefix(code, "4")
		}
		if !four && rt.Roles != nil {
			t.Errorf("%s documents no 4xx answer", key)
		}

		header := false
		params, _ := op["parameters"].([]any)
		for _, p := range params {
			header = header || p.(map[string]any)["name"] == TenantHeader
		}
		want := (rt.Scope == TenantScoped || rt.Scope == TenantOptional) && rt.Allows(tenancy.SuperAdmin)
		if header != want {
			t.Errorf("%s: %s header documented %v, want %v (scope %d)", key, TenantHeader, header, want, rt.Scope)
		}
	}
	// Every scheme an operation names is declared, and only those.
	declared := doc["components"].(map[string]any)["securitySchemes"].(map[string]any)
	for _, c := range credentials {
		used := false
		for _, rt := range Routes() {
			used = used || c.admits(rt)
		}
		if _, ok := declared[c.scheme]; ok != used {
			t.Errorf("security scheme %s declared %v, used %v", c.scheme, ok, used)
		}
	}
}
