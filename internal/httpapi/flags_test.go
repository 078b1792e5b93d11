package httpapi_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/open-feature/go-sdk-contrib/providers/ofrep"
	"github.com/open-feature/go-sdk/openfeature"

	"github.com/shimizu-tech/ordersuite/internal/flags"
	"github.com/shimizu-tech/ordersuite/internal/httpapi"
	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

func init() {
	resourceFixtures["/admin/feature_flags/{id}"] = func(e *env, tn tenant) map[string]string {
		return map[string]string{"id": e.newFlag(tn, "fixture_"+strings.ToLower(store.NewID()[24:]), true, nil).ID}
	}
	resourceFixtures["/ofrep/v1/evaluate/flags/{key}"] = func(e *env, tn tenant) map[string]string {
		return map[string]string{"key": e.newFlag(tn, "fixture_"+strings.ToLower(store.NewID()[24:]), true, nil).Key}
	}
	for route, body := range map[string]any{
		"POST /admin/feature_flags":                    map[string]any{"key": "created_flag", "enabled": true, "percentage": 20, "configuration": map[string]any{"theme": "dark"}},
		"PATCH /admin/feature_flags/{id}":              map[string]any{"enabled": false},
		"POST /admin/feature_flags/enable_for_tenant":  map[string]any{"key": "tenant_on", "percentage": 50},
		"POST /admin/feature_flags/disable_for_tenant": map[string]any{"key": "tenant_off"},
		"POST /admin/feature_flags/enable_globally":    map[string]any{"key": "global_on"},
		"POST /admin/feature_flags/disable_globally":   map[string]any{"key": "global_off"},
		"POST /ofrep/v1/evaluate/flags/{key}":          map[string]any{"context": map[string]any{"targetingKey": "user-1"}},
		"POST /ofrep/v1/evaluate/flags":                map[string]any{"context": map[string]any{"targetingKey": "user-1"}},
	} {
		validBodies[route] = body
	}
}

// newFlag stores a flag of tn directly, as a fixture.
func (e *env) newFlag(tn tenant, key string, enabled bool, percentage *int) store.FeatureFlag {
	e.t.Helper()
	f, err := e.db.CreateFeatureFlag(tenancy.WithTenant(context.Background(), tn.R.ID),
		store.FeatureFlag{Key: key, Enabled: enabled, Percentage: percentage})
	if err != nil {
		e.t.Fatal(err)
	}
	return f
}

type flagBody struct {
	Flag store.FeatureFlag `json:"feature_flag"`
}

func (e *env) evaluate(tn tenant, key, entity string) bool {
	e.t.Helper()
	res := e.do("GET", "/api/v1/feature_flags/evaluate?keys="+key+"&entity_id="+entity, e.tokenFor(tenancy.Customer, tn), nil)
	if res.Status != http.StatusOK {
		e.t.Fatalf("evaluate: %d %s", res.Status, res.Body)
	}
	v := decode[struct {
		Flags map[string]struct{ Enabled bool } `json:"flags"`
	}](e.t, res)
	return v.Flags[key].Enabled
}

func TestFlagAdminAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	super := e.token(e.super)
	onA := []string{httpapi.TenantHeader, e.A.R.ID}

	res := e.do("POST", "/admin/feature_flags", super, map[string]any{
		"key": "new_order_ui", "description": "new order screen", "enabled": true, "percentage": 100,
		"configuration": map[string]any{"layout": "grid"}}, onA...)
	if res.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", res.Status, res.Body)
	}
	created := decode[flagBody](t, res).Flag
	if created.Global || created.RestaurantID != e.A.R.ID || *created.Percentage != 100 || string(created.Configuration) != `{"layout":"grid"}` {
		t.Fatalf("created %+v", created)
	}
	if !e.evaluate(e.A, "new_order_ui", "user-1") || e.evaluate(e.B, "new_order_ui", "user-1") {
		t.Fatal("tenant flag must be on for A only")
	}

	// Admins read their own flags and cannot change them; B sees none of A's.
	adminA, adminB := e.tokenFor(tenancy.Admin, e.A), e.tokenFor(tenancy.Admin, e.B)
	if res := e.do("GET", "/admin/feature_flags", adminA, nil); res.Status != 200 || !strings.Contains(string(res.Body), "new_order_ui") {
		t.Errorf("admin A lists: %d %s", res.Status, res.Body)
	}
	if res := e.do("GET", "/admin/feature_flags", adminB, nil); strings.Contains(string(res.Body), "new_order_ui") {
		t.Errorf("admin B sees A's flag: %s", res.Body)
	}
	if res := e.do("GET", "/admin/feature_flags/"+created.ID, adminB, nil); res.Status != http.StatusNotFound {
		t.Errorf("admin B reads A's flag: %d", res.Status)
	}
	if res := e.do("PATCH", "/admin/feature_flags/"+created.ID, adminA, map[string]any{"enabled": false}); res.Status != http.StatusForbidden {
		t.Errorf("admin A patches: %d, want 403", res.Status)
	}
	if res := e.do("PATCH", "/admin/feature_flags/"+created.ID, super, map[string]any{"enabled": false},
		httpapi.TenantHeader, e.B.R.ID); res.Status != http.StatusNotFound {
		t.Errorf("operator acting on B patches A's flag: %d, want 404", res.Status)
	}

	// Changes are audited with before and after.
	res = e.do("PATCH", "/admin/feature_flags/"+created.ID, super, map[string]any{"percentage": 10, "description": "ten percent"}, onA...)
	if res.Status != http.StatusOK || *decode[flagBody](t, res).Flag.Percentage != 10 {
		t.Fatalf("patch: %d %s", res.Status, res.Body)
	}
	res = e.do("PATCH", "/admin/feature_flags/"+created.ID, super, map[string]any{"percentage": nil}, onA...)
	if res.Status != http.StatusOK || decode[flagBody](t, res).Flag.Percentage != nil {
		t.Fatalf("clear percentage: %d %s", res.Status, res.Body)
	}
	audit := e.do("GET", "/admin/audit_log", adminA, nil)
	entries := decode[struct {
		Entries []store.AuditEntry `json:"entries"`
	}](t, audit).Entries
	var update *store.AuditEntry
	for i := range entries {
		if entries[i].ResourceType == "feature_flag" && entries[i].Action == "update" && strings.Contains(string(entries[i].After), "ten percent") {
			update = &entries[i]
		}
	}
	if update == nil {
		t.Fatalf("no audit entry for the update: %s", audit.Body)
	}
	if !strings.Contains(string(update.Before), `"percentage":100`) || !strings.Contains(string(update.After), `"percentage":10`) || update.ActorID != e.super.ID {
		t.Errorf("audit entry before/after/actor: %+v", update)
	}

	if res := e.do("DELETE", "/admin/feature_flags/"+created.ID, super, nil, onA...); res.Status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", res.Status, res.Body)
	}
	if e.evaluate(e.A, "new_order_ui", "user-1") {
		t.Error("deleted flag still on")
	}
}

func TestFlagValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	super := e.token(e.super)
	onA := []string{httpapi.TenantHeader, e.A.R.ID}
	id := e.newFlag(e.A, "existing", true, nil).ID
	cases := []struct {
		method, path string
		body         any
		field        string
	}{
		{"POST", "/admin/feature_flags", map[string]any{"key": "Bad Key"}, "key"},
		{"POST", "/admin/feature_flags", map[string]any{"key": "has:colon"}, "key"},
		{"POST", "/admin/feature_flags", map[string]any{"key": "ok", "percentage": 101}, "percentage"},
		{"POST", "/admin/feature_flags", map[string]any{"key": "ok", "percentage": -1}, "percentage"},
		{"POST", "/admin/feature_flags", map[string]any{"key": "ok", "percentage": "half"}, "percentage"},
		{"POST", "/admin/feature_flags", map[string]any{"key": "ok", "percentage": 12.5}, "percentage"},
		{"POST", "/admin/feature_flags", map[string]any{"key": "ok", "configuration": "not json"}, "configuration"},
		{"POST", "/admin/feature_flags", map[string]any{"key": "ok", "configuration": []int{1}}, "configuration"},
		{"POST", "/admin/feature_flags", map[string]any{"key": "ok", "enabled": "yes"}, "enabled"},
		{"POST", "/admin/feature_flags", map[string]any{"key": "ok", "variants": []map[string]any{{"key": "a", "weight": -5}}}, "variants"},
		{"POST", "/admin/feature_flags", map[string]any{"key": "ok", "colour": "red"}, "colour"},
		{"PATCH", "/admin/feature_flags/" + id, map[string]any{"percentage": 500}, "percentage"},
		{"PATCH", "/admin/feature_flags/" + id, map[string]any{"configuration": 7}, "configuration"},
		{"PATCH", "/admin/feature_flags/" + id, map[string]any{"key": "renamed"}, "key"},
		{"POST", "/admin/feature_flags/enable_for_tenant", map[string]any{"key": "ok", "percentage": 200}, "percentage"},
		{"POST", "/admin/feature_flags/enable_globally", map[string]any{"key": "NOPE"}, "key"},
		{"GET", "/admin/feature_flags/stale?days=0", nil, "days"},
		{"GET", "/api/v1/feature_flags/evaluate?keys=a,B%20C", nil, "keys"},
	}
	for _, c := range cases {
		res := e.do(c.method, c.path, super, c.body, onA...)
		if res.Status != http.StatusBadRequest {
			t.Errorf("%s %s %v: %d, want 400: %s", c.method, c.path, c.body, res.Status, res.Body)
			continue
		}
		if got := decode[struct {
			Error struct{ Field string } `json:"error"`
		}](t, res).Error.Field; got != c.field {
			t.Errorf("%s %s %v: field %q, want %q: %s", c.method, c.path, c.body, got, c.field, res.Body)
		}
	}
	if res := e.do("POST", "/admin/feature_flags", super, map[string]any{"key": "existing"}, onA...); res.Status != http.StatusConflict {
		t.Errorf("duplicate key: %d, want 409", res.Status)
	}
	if res := e.do("POST", "/admin/feature_flags", super, "{not json", onA...); res.Status != http.StatusBadRequest {
		t.Errorf("malformed body: %d, want 400", res.Status)
	}
}

func TestGlobalDefaultsOverTheAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	super := e.token(e.super)
	if res := e.do("POST", "/admin/feature_flags/enable_globally", super, map[string]any{"key": "advanced_analytics"}); res.Status != 200 {
		t.Fatalf("enable_globally: %d %s", res.Status, res.Body)
	}
	if !e.evaluate(e.A, "advanced_analytics", "") || !e.evaluate(e.B, "advanced_analytics", "") {
		t.Fatal("platform default not on for every tenant")
	}
	if res := e.do("POST", "/admin/feature_flags/disable_for_tenant", super, map[string]any{"key": "advanced_analytics"},
		httpapi.TenantHeader, e.B.R.ID); res.Status != 200 {
		t.Fatalf("disable_for_tenant: %d %s", res.Status, res.Body)
	}
	if !e.evaluate(e.A, "advanced_analytics", "") || e.evaluate(e.B, "advanced_analytics", "") {
		t.Fatal("B's override must switch B off and leave A on")
	}
	// The operator sees the defaults without naming a tenant; a tenant's
	// listing shows its override as effective.
	res := e.do("GET", "/admin/feature_flags", super, nil)
	l := decode[flags.Listing](t, res)
	if res.Status != 200 || len(l.Global) != 1 || len(l.Tenant) != 0 || !l.Global[0].Enabled {
		t.Fatalf("platform listing: %d %s", res.Status, res.Body)
	}
	l = decode[flags.Listing](t, e.do("GET", "/admin/feature_flags", e.tokenFor(tenancy.Admin, e.B), nil))
	if len(l.Effective) != 1 || l.Effective[0].Enabled || l.Effective[0].Global {
		t.Fatalf("B's effective flags: %+v", l.Effective)
	}
	// A global default is changed by id without a tenant, and audited
	// without one.
	gid := l.Global[0].ID
	if res := e.do("PATCH", "/admin/feature_flags/"+gid, super, map[string]any{"percentage": 0}); res.Status != 200 {
		t.Fatalf("patch global: %d %s", res.Status, res.Body)
	}
	if e.evaluate(e.A, "advanced_analytics", "user-1") {
		t.Error("0 % default still on for A")
	}
	if res := e.do("PATCH", "/admin/feature_flags/"+gid, e.tokenFor(tenancy.Admin, e.A), map[string]any{"enabled": false}); res.Status != http.StatusForbidden {
		t.Errorf("admin patches a default: %d", res.Status)
	}
	if res := e.do("POST", "/admin/feature_flags", super, map[string]any{"key": "needs_scope"}); res.Status != http.StatusBadRequest {
		t.Errorf("create without tenant or global: %d %s", res.Status, res.Body)
	}
	if res := e.do("POST", "/admin/feature_flags", super, map[string]any{"key": "advanced_analytics", "global": true}); res.Status != http.StatusConflict {
		t.Errorf("second global row with one key: %d %s", res.Status, res.Body)
	}
}

// TestOFREPWithOpenFeatureSDK evaluates through the OpenFeature Go SDK and
// its OFREP provider against the real server.
func TestOFREPWithOpenFeatureSDK(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.newFlag(e.A, "static_on", true, nil)
	e.newFlag(e.A, "switched_off", false, intp(50))
	e.newFlag(e.A, "rollout", true, intp(40))
	e.newFlag(e.B, "b_only", true, nil)
	ctx := tenancy.WithTenant(context.Background(), e.A.R.ID)
	variants := []store.FlagVariant{{Key: "blue", Weight: 1}, {Key: "green", Weight: 1}}
	if _, err := e.db.CreateFeatureFlag(ctx, store.FeatureFlag{Key: "button_colour", Enabled: true, Variants: variants}); err != nil {
		t.Fatal(err)
	}

	provider := ofrep.NewProvider(e.srv.URL, ofrep.WithBearerToken(e.tokenFor(tenancy.Customer, e.A)))
	if err := openfeature.SetNamedProviderAndWait("ordersuite-test", provider); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(openfeature.Shutdown)
	client := openfeature.NewClient("ordersuite-test")
	bg := context.Background()

	d, err := client.BooleanValueDetails(bg, "static_on", false, openfeature.NewEvaluationContext("user-1", nil))
	if err != nil || !d.Value || d.Reason != openfeature.StaticReason || d.Variant != "on" {
		t.Errorf("static_on: %+v %v", d, err)
	}
	// A disabled flag: the SDK hands back the caller's default, as
	// OpenFeature specifies for the DISABLED reason.
	d, err = client.BooleanValueDetails(bg, "switched_off", true, openfeature.NewEvaluationContext("user-1", nil))
	if err != nil || d.Reason != openfeature.DisabledReason || d.Variant != "off" {
		t.Errorf("switched_off: %+v %v", d, err)
	}
	for i := range 30 {
		id := "user-" + strconv.Itoa(i)
		d, err := client.BooleanValueDetails(bg, "rollout", !(flags.Bucket("rollout", id) < 40), openfeature.NewEvaluationContext(id, nil))
		if err != nil || d.Value != (flags.Bucket("rollout", id) < 40) || d.Reason != openfeature.SplitReason {
			t.Errorf("rollout/%s: %+v %v", id, d, err)
		}
	}
	d, err = client.BooleanValueDetails(bg, "rollout", true, openfeature.NewTargetlessEvaluationContext(nil))
	if err == nil || d.ErrorCode != openfeature.TargetingKeyMissingCode || !d.Value {
		t.Errorf("rollout without targeting key: %+v %v", d, err)
	}
	d, err = client.BooleanValueDetails(bg, "b_only", false, openfeature.NewEvaluationContext("user-1", nil))
	if err == nil || d.ErrorCode != openfeature.FlagNotFoundCode || d.Value {
		t.Errorf("tenant B's flag through A's token: %+v %v", d, err)
	}
	s, err := client.StringValueDetails(bg, "button_colour", "none", openfeature.NewEvaluationContext("user-7", nil))
	if err != nil || (s.Value != "blue" && s.Value != "green") || s.Variant != s.Value {
		t.Errorf("button_colour: %+v %v", s, err)
	}
	again, _ := client.StringValue(bg, "button_colour", "none", openfeature.NewEvaluationContext("user-7", nil))
	if again != s.Value {
		t.Errorf("variant changed between evaluations: %s then %s", s.Value, again)
	}
}

func intp(n int) *int { return &n }

func TestOFREPProtocol(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.newFlag(e.A, "static_on", true, nil)
	e.newFlag(e.A, "rollout", true, intp(40))
	tok := e.tokenFor(tenancy.Staff, e.A)

	type ofrepErr struct {
		Key          string `json:"key"`
		ErrorCode    string `json:"errorCode"`
		ErrorDetails string `json:"errorDetails"`
	}
	for _, c := range []struct {
		path   string
		body   any
		status int
		code   string
	}{
		{"/ofrep/v1/evaluate/flags/missing", map[string]any{"context": map[string]any{}}, 404, "FLAG_NOT_FOUND"},
		{"/ofrep/v1/evaluate/flags/rollout", map[string]any{"context": map[string]any{}}, 400, "TARGETING_KEY_MISSING"},
		{"/ofrep/v1/evaluate/flags/rollout", "{nope", 400, "PARSE_ERROR"},
		{"/ofrep/v1/evaluate/flags/rollout", map[string]any{"context": "user-1"}, 400, "INVALID_CONTEXT"},
		{"/ofrep/v1/evaluate/flags/rollout", map[string]any{"context": map[string]any{"targetingKey": 5}}, 400, "INVALID_CONTEXT"},
		{"/ofrep/v1/evaluate/flags", map[string]any{"context": []int{1}}, 400, "INVALID_CONTEXT"},
	} {
		res := e.do("POST", c.path, tok, c.body)
		got := decode[ofrepErr](t, res)
		if res.Status != c.status || got.ErrorCode != c.code || got.ErrorDetails == "" {
			t.Errorf("%s %v: %d %s, want %d %s", c.path, c.body, res.Status, res.Body, c.status, c.code)
		}
	}

	// Bulk: every flag, with an ETag honoured by If-None-Match.
	body := map[string]any{"context": map[string]any{"targetingKey": "user-1"}}
	res := e.do("POST", "/ofrep/v1/evaluate/flags", tok, body)
	etag := res.Header.Get("ETag")
	bulk := decode[struct {
		Flags []map[string]any `json:"flags"`
	}](t, res)
	if res.Status != 200 || etag == "" || len(bulk.Flags) != 2 {
		t.Fatalf("bulk: %d %q %s", res.Status, etag, res.Body)
	}
	if res := e.do("POST", "/ofrep/v1/evaluate/flags", tok, body, "If-None-Match", etag); res.Status != http.StatusNotModified || len(res.Body) != 0 {
		t.Errorf("unchanged bulk with If-None-Match: %d %s", res.Status, res.Body)
	}
	other := map[string]any{"context": map[string]any{"targetingKey": "user-2"}}
	if res := e.do("POST", "/ofrep/v1/evaluate/flags", tok, other, "If-None-Match", etag); res.Status == http.StatusNotModified && flags.Bucket("rollout", "user-1") < 40 != (flags.Bucket("rollout", "user-2") < 40) {
		t.Error("another context with a different answer got 304")
	}
	if res := e.do("POST", "/admin/feature_flags/enable_for_tenant", e.token(e.super), map[string]any{"key": "brand_new"},
		httpapi.TenantHeader, e.A.R.ID); res.Status != 200 {
		t.Fatalf("enable: %d %s", res.Status, res.Body)
	}
	res = e.do("POST", "/ofrep/v1/evaluate/flags", tok, body, "If-None-Match", etag)
	if res.Status != http.StatusOK || res.Header.Get("ETag") == etag {
		t.Errorf("after a change: %d, etag %s (was %s)", res.Status, res.Header.Get("ETag"), etag)
	}
	if res := e.do("POST", "/ofrep/v1/evaluate/flags", "", body); res.Status != http.StatusUnauthorized {
		t.Errorf("without a token: %d", res.Status)
	}
}

func TestStaleFlagsEndpoint(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	res := e.do("GET", "/admin/feature_flags/stale?days=7", e.tokenFor(tenancy.Admin, e.A), nil)
	if res.Status != 200 || !strings.Contains(string(res.Body), `"stale_flags":[]`) {
		t.Fatalf("stale: %d %s", res.Status, res.Body)
	}
}
