package httpapi_test

import (
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/shimizu-tech/ordersuite/internal/httpapi"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

var updateHostile = flag.Bool("update-hostile", false, "rewrite testdata/hostile_statuses.golden from this run")

const hostileGolden = "testdata/hostile_statuses.golden"

// hostileCase is one hostile request to one route.
type hostileCase struct {
	name    string
	path    string
	body    any // nil: no body; string: sent as is
	headers []string
	// textField is set when the case puts bad text in an input: the
	// answer must be 400 naming that field.
	textField string
}

// extraQueryParams are the query parameters of routes outside /api/v1,
// which the API description does not list.
var extraQueryParams = map[string][]string{
	"GET /admin/audit_log":                          {"scope", "actor_id", "action", "from", "to", "cursor", "per_page"},
	"GET /admin/tenant_metrics/{id}/usage_stats":    {"start_date", "end_date"},
	"GET /admin/tenant_metrics/{id}/events":         {"event_type", "start_date", "end_date", "page", "per_page"},
	"GET /admin/tenant_metrics/tenant_comparison":   {"restaurant_ids[]"},
	"GET /admin/feature_flags/stale":                {"days"},
	"GET /admin/tenant_backup/backups":              {"restaurant_id"},
	"GET /api/v1/feature_flags/evaluate":            {"keys", "entity_id"},
	"GET /admin/tenant_metrics/{id}/health_metrics": {"restaurant_id"},
}

// hostileCases builds the cases of one route: for a write, bodies holding a
// NUL, bytes that are not UTF-8 and a lone surrogate, a body sent as
// text/plain, an empty object and nulls; for every route, a NUL and bad
// bytes in each path parameter, each query parameter and the tenant
// header, and the path with its id in upper case.
func hostileCases(rt httpapi.Route, path string, queryParams []string, readsJSON bool) []hostileCase {
	var out []hostileCase
	for _, m := range pathParam.FindAllStringSubmatch(rt.Pattern, -1) {
		name := m[1]
		for _, bad := range []struct{ name, value string }{{"nul", "a%00b"}, {"invalid_utf8", "a%FFb"}} {
			p := fillPath(rt.Pattern, map[string]string{name: bad.value})
			// Keep the other parameters as the fixture made them.
			out = append(out, hostileCase{name: bad.name + "_in_path_" + name, path: mergePath(path, p, rt.Pattern), body: bodyIfWrite(rt), textField: name})
		}
	}
	for _, q := range queryParams {
		for _, bad := range []struct{ name, value string }{{"nul", "N%00UL"}, {"invalid_utf8", "%FF%FE"}} {
			out = append(out, hostileCase{name: bad.name + "_in_query_" + q, path: path + "?" + q + "=" + bad.value, body: bodyIfWrite(rt), textField: q})
		}
	}
	if rt.Roles != nil {
		out = append(out, hostileCase{name: "invalid_utf8_tenant_header", path: path, body: bodyIfWrite(rt),
			headers: []string{httpapi.TenantHeader, "\xff\xfe"}, textField: httpapi.TenantHeader})
	}
	if strings.Contains(rt.Pattern, "{id}") && !rt.IsWrite() {
		out = append(out, hostileCase{name: "upper_case_id", path: upperIDs(path, rt.Pattern)})
	}
	if rt.IsWrite() {
		valid, _ := bodyFor(rt).(map[string]any)
		field := "name"
		var keys []string
		for k, v := range valid {
			if _, ok := v.(string); ok {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		if len(keys) > 0 {
			field = keys[0]
		}
		withText := func(raw string) string {
			rest := map[string]any{}
			for k, v := range valid {
				if k != field {
					rest[k] = v
				}
			}
			s := strings.TrimSuffix(string(mustMarshal(rest)), "}")
			if s != "{" {
				s += ","
			}
			return s + `"` + field + `":"` + raw + `"}`
		}
		if !readsJSON {
			field = ""
		}
		out = append(out,
			hostileCase{name: "nul_escape_in_body", path: path, body: withText(`N\u0000UL`), textField: field},
			hostileCase{name: "invalid_utf8_in_body", path: path, body: withText("bad\xff\xfebytes"), textField: field},
			hostileCase{name: "lone_surrogate_in_body", path: path, body: withText(`x\ud800y`), textField: field},
			hostileCase{name: "text_plain_body", path: path, body: string(mustMarshal(valid)), headers: []string{"Content-Type", "text/plain"}},
			hostileCase{name: "form_body", path: path, body: "name=x", headers: []string{"Content-Type", "application/x-www-form-urlencoded"}},
			hostileCase{name: "empty_object", path: path, body: "{}"},
		)
		if len(valid) > 0 {
			nulls := map[string]any{}
			for k := range valid {
				nulls[k] = nil
			}
			out = append(out, hostileCase{name: "all_fields_null", path: path, body: string(mustMarshal(nulls))})
		}
		// A body-less write keeps its ordinary answer.
		out = append(out, hostileCase{name: "valid_body", path: path, body: string(mustMarshal(valid))})
	}
	return out
}

func bodyIfWrite(rt httpapi.Route) any {
	if rt.IsWrite() {
		return bodyFor(rt)
	}
	return nil
}

func mustMarshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// mergePath takes from hostile the segments where pattern has the one
// parameter replaced and from path (the fixture's) every other segment.
func mergePath(path, hostile, pattern string) string {
	ps, hs, pats := strings.Split(path, "/"), strings.Split(hostile, "/"), strings.Split(pattern, "/")
	for i := range pats {
		if i < len(hs) && i < len(ps) && strings.HasPrefix(pats[i], "{") && hs[i] != "" {
			if strings.Contains(hs[i], "%") {
				ps[i] = hs[i]
			}
		}
	}
	return strings.Join(ps, "/")
}

// upperIDs writes the {id} segment of path in upper case.
func upperIDs(path, pattern string) string {
	ps, pats := strings.Split(path, "/"), strings.Split(pattern, "/")
	for i := range pats {
		if pats[i] == "{id}" && i < len(ps) {
			ps[i] = strings.ToUpper(ps[i])
		}
	}
	return strings.Join(ps, "/")
}

// hostileCaller is who sends a route's hostile requests: the operator
// acting on tenant A where the route lets it, else A's admin, else anyone
// the route allows.
func hostileCaller(e *env, rt httpapi.Route) (token string, headers []string) {
	if rt.Roles == nil {
		return "", nil
	}
	for _, role := range []tenancy.Role{tenancy.SuperAdmin, tenancy.Admin, tenancy.Staff, tenancy.Customer} {
		if rt.Allows(role) {
			return e.tokenFor(role, e.A), tenantHeaderFor(role, e.A)
		}
	}
	return "", nil
}

// queryParamsOf lists each route's query parameters: the API description's
// for /api/v1 (the list filters), extraQueryParams for the others.
func queryParamsOf(t *testing.T, e *env) map[string][]string {
	t.Helper()
	res := e.do("GET", "/api/openapi.json", "", nil)
	var doc struct {
		Paths map[string]map[string]struct {
			Parameters []struct {
				Name string `json:"name"`
				In   string `json:"in"`
			} `json:"parameters"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(res.Body, &doc); err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for pattern, ops := range doc.Paths {
		for method, op := range ops {
			for _, p := range op.Parameters {
				if p.In == "query" {
					key := strings.ToUpper(method) + " " + pattern
					out[key] = append(out[key], p.Name)
				}
			}
		}
	}
	for k, v := range extraQueryParams {
		out[k] = append(out[k], v...)
	}
	for k := range out {
		sort.Strings(out[k])
	}
	return out
}

// TestHostileInputEveryRoute sends every route, from the route table, the
// hostile requests of hostileCases. No answer is a 5xx; bad text is a 400
// naming the field; and the status of every case is the one recorded in
// testdata/hostile_statuses.golden — the same file for SQLite and
// PostgreSQL, so the two engines give the same answers. Regenerate it with
// -update-hostile after a deliberate change, and read the diff.
func TestHostileInputEveryRoute(t *testing.T) {
	t.Parallel()
	setup := newEnv(t)
	params := queryParamsOf(t, setup)
	var mu sync.Mutex
	got := map[string]string{}
	t.Run("routes", func(t *testing.T) {
		for _, rt := range httpapi.Routes() {
			if rt.Pattern == "/api/openapi.json" {
				continue
			}
			t.Run(routeName(rt), func(t *testing.T) {
				t.Parallel()
				// A route whose answers depend on platform state (flags,
				// restaurants, the caller) gets a server and database of
				// its own, so that its recorded statuses do not depend on
				// which other route ran first.
				var e *env
				if tenantOnly(rt) {
					e = setup.forSubtest(t, false)
				} else {
					e = newEnv(t)
				}
				path := e.pathFor(rt, e.A)
				token, tenantHeader := hostileCaller(e, rt)
				// A write reads a JSON body if a malformed one is refused.
				readsJSON := rt.IsWrite() && e.do(rt.Method, path, token, "[", tenantHeader...).Status == http.StatusBadRequest
				for _, c := range hostileCases(rt, path, params[routeName(rt)], readsJSON) {
					// A fresh token each time: logout revokes the one it is sent with.
					token, _ := hostileCaller(e, rt)
					headers := append(append([]string{}, tenantHeader...), c.headers...)
					res := e.do(rt.Method, c.path, token, c.body, headers...)
					line := fmt.Sprintf("%d", res.Status)
					if res.Status >= 500 {
						t.Errorf("%s: %d %s", c.name, res.Status, res.Body)
					}
					if ct := res.Header.Get("Content-Type"); res.Status >= 400 && !strings.HasPrefix(ct, "application/json") {
						t.Errorf("%s: %d answered with Content-Type %q", c.name, res.Status, ct)
					}
					if res.Status >= 400 {
						var body struct {
							Error struct {
								Field string `json:"field"`
							} `json:"error"`
						}
						_ = json.Unmarshal(res.Body, &body)
						var ofrep struct {
							ErrorCode    string `json:"errorCode"`
							ErrorDetails string `json:"errorDetails"`
						}
						if rt.OFREP && json.Unmarshal(res.Body, &ofrep) == nil && ofrep.ErrorCode != "" {
							// OFREP's error shape names the field in its details.
							if field, _, ok := strings.Cut(ofrep.ErrorDetails, ": "); ok && !strings.Contains(field, " ") {
								body.Error.Field = field
							}
						}
						if body.Error.Field != "" {
							line += " " + body.Error.Field
						}
						if c.textField != "" && (res.Status != http.StatusBadRequest || body.Error.Field != c.textField) {
							t.Errorf("%s: %d %s, want 400 naming %s", c.name, res.Status, res.Body, c.textField)
						}
					}
					mu.Lock()
					got[routeName(rt)+" "+c.name] = line
					mu.Unlock()
				}
			})
		}
	})
	var lines []string
	for k, v := range got {
		lines = append(lines, k+" => "+v)
	}
	sort.Strings(lines)
	actual := strings.Join(lines, "\n") + "\n"
	if *updateHostile {
		if err := os.WriteFile(hostileGolden, []byte(actual), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(hostileGolden)
	if err != nil {
		t.Fatalf("%v (run with -update-hostile to record)", err)
	}
	if string(want) != actual {
		wl := map[string]bool{}
		for _, l := range strings.Split(string(want), "\n") {
			wl[l] = true
		}
		al := map[string]bool{}
		for _, l := range lines {
			al[l] = true
			if !wl[l] {
				t.Errorf("got      %s", l)
			}
		}
		for l := range wl {
			if l != "" && !al[l] {
				t.Errorf("recorded %s", l)
			}
		}
	}
}
