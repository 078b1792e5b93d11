package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/open-feature/go-sdk-contrib/providers/ofrep"
	"github.com/open-feature/go-sdk/openfeature"

	"github.com/shimizu-tech/ordersuite/internal/httpapi"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

func init() {
	resourceFixtures["/admin/sdk_keys/{id}"] = func(e *env, tn tenant) map[string]string {
		k, _ := e.newSDKKey(tn, "fixture")
		return map[string]string{"id": k}
	}
	validBodies["POST /admin/sdk_keys"] = map[string]any{"name": "web shop"}
}

// newSDKKey makes a key of tn and returns its id and secret.
func (e *env) newSDKKey(tn tenant, name string) (id, key string) {
	e.t.Helper()
	ctx := tenancy.WithTenant(context.Background(), tn.R.ID)
	k, key, err := e.auth.CreateSDKKey(ctx, name)
	if err != nil {
		e.t.Fatal(err)
	}
	return k.ID, key
}

// TestSDKKeyScope: an SDK key reaches exactly the routes the table marks
// for it, and every other protected route answers 403.
func TestSDKKeyScope(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, key := e.newSDKKey(e.A, "scope")
	marked := 0
	for _, rt := range protectedRoutes() {
		res := e.do(rt.Method, e.pathFor(rt, e.A), key, bodyFor(rt))
		switch {
		case rt.SDKKey:
			marked++
			if res.Status == http.StatusUnauthorized || res.Status == http.StatusForbidden || res.Status >= 500 {
				t.Errorf("%s: marked for SDK keys but got %d: %s", routeName(rt), res.Status, res.Body)
			}
		case res.Status != http.StatusForbidden:
			t.Errorf("%s with an SDK key: %d, want 403: %s", routeName(rt), res.Status, res.Body)
		}
	}
	if marked != 3 {
		t.Errorf("%d routes take SDK keys, want 3 (OFREP single and bulk, evaluate)", marked)
	}
	// Its own restaurant only: naming another is refused like for a pinned user.
	res := e.do("POST", "/ofrep/v1/evaluate/flags", key, map[string]any{}, httpapi.TenantHeader, e.B.R.ID)
	if res.Status != http.StatusForbidden {
		t.Errorf("SDK key naming tenant B: %d, want 403", res.Status)
	}
}

// TestSDKKeyLifecycle: created by an admin (shown once), listed without the
// secret, refused once revoked, its use recorded later in a batch, and both
// the creation and the revocation audited.
func TestSDKKeyLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.newFlag(e.A, "static_on", true, nil)
	admin := e.tokenFor(tenancy.Admin, e.A)
	res := e.do("POST", "/admin/sdk_keys", admin, map[string]any{"name": "storefront"})
	if res.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", res.Status, res.Body)
	}
	var created struct {
		Key    string `json:"key"`
		SDKKey struct {
			ID string `json:"id"`
		} `json:"sdk_key"`
	}
	if err := json.Unmarshal(res.Body, &created); err != nil || !strings.HasPrefix(created.Key, "ossdk_") {
		t.Fatalf("create answer: %s %v", res.Body, err)
	}
	if res := e.do("POST", "/admin/sdk_keys", admin, map[string]any{"name": " "}); res.Status != http.StatusBadRequest || !strings.Contains(string(res.Body), `"field":"name"`) {
		t.Errorf("blank name: %d %s", res.Status, res.Body)
	}
	if res := e.do("POST", "/ofrep/v1/evaluate/flags/static_on", created.Key, nil); res.Status != http.StatusOK {
		t.Fatalf("evaluate with the key: %d %s", res.Status, res.Body)
	}
	list := e.do("GET", "/admin/sdk_keys", admin, nil)
	if list.Status != http.StatusOK || strings.Contains(string(list.Body), created.Key) || !strings.Contains(string(list.Body), "storefront") {
		t.Errorf("list: %d %s", list.Status, list.Body)
	}
	if other := e.do("GET", "/admin/sdk_keys", e.tokenFor(tenancy.Admin, e.B), nil); strings.Contains(string(other.Body), created.SDKKey.ID) {
		t.Errorf("tenant B lists A's key: %s", other.Body)
	}
	if res := e.do("DELETE", "/admin/sdk_keys/"+created.SDKKey.ID, e.tokenFor(tenancy.Admin, e.B), nil); res.Status != http.StatusNotFound {
		t.Errorf("B revoking A's key: %d", res.Status)
	}
	if res := e.do("DELETE", "/admin/sdk_keys/"+created.SDKKey.ID, admin, nil); res.Status != http.StatusOK {
		t.Fatalf("revoke: %d %s", res.Status, res.Body)
	}
	if res := e.do("POST", "/ofrep/v1/evaluate/flags/static_on", created.Key, nil); res.Status != http.StatusUnauthorized {
		t.Errorf("revoked key: %d, want 401", res.Status)
	}
	e.auth.Close() // writes the batched uses
	keys, err := e.db.SDKKeys(tenancy.WithTenant(context.Background(), e.A.R.ID))
	if err != nil || len(keys) != 1 || keys[0].LastUsedAt == nil || keys[0].RevokedAt == nil {
		t.Errorf("after use and revocation: %+v %v", keys, err)
	}
	entries, err := e.db.AuditLog(tenancy.WithTenant(context.Background(), e.A.R.ID), 100, 0)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, a := range entries {
		if a.ResourceType == "sdk_key" {
			actions = append(actions, a.Action)
		}
	}
	if strings.Join(actions, ",") != "revoke,create" && strings.Join(actions, ",") != "create,revoke" {
		t.Errorf("audited sdk_key actions: %v", actions)
	}
}

// TestOpenFeatureWithSDKKey: the OpenFeature Go SDK's OFREP provider
// evaluates with an SDK key (sent as X-API-Key, as the provider does), the
// key gets 403 on the orders API, and every OFREP error reaches the
// provider as the error it stands for.
func TestOpenFeatureWithSDKKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.newFlag(e.A, "static_on", true, nil)
	e.newFlag(e.A, "rollout", true, intp(40))
	_, key := e.newSDKKey(e.A, "openfeature")
	bg := context.Background()
	client := func(name string, opts ...ofrep.Option) *openfeature.Client {
		t.Helper()
		if err := openfeature.SetNamedProviderAndWait(name, ofrep.NewProvider(e.srv.URL, opts...)); err != nil {
			t.Fatal(err)
		}
		return openfeature.NewClient(name)
	}
	t.Cleanup(openfeature.Shutdown)

	good := client("sdk-key", ofrep.WithApiKeyAuth(key))
	d, err := good.BooleanValueDetails(bg, "static_on", false, openfeature.NewEvaluationContext("user-1", nil))
	if err != nil || !d.Value || d.Reason != openfeature.StaticReason {
		t.Errorf("static_on with an SDK key: %+v %v", d, err)
	}
	if res := e.do("GET", "/api/v1/orders", key, nil); res.Status != http.StatusForbidden {
		t.Errorf("SDK key on /api/v1/orders: %d, want 403", res.Status)
	}
	if res := e.do("POST", "/api/v1/orders", key, map[string]any{}); res.Status != http.StatusForbidden {
		t.Errorf("SDK key creating an order: %d, want 403", res.Status)
	}

	// 404 → FLAG_NOT_FOUND; 400 → TARGETING_KEY_MISSING.
	d, err = good.BooleanValueDetails(bg, "no_such_flag", false, openfeature.NewEvaluationContext("user-1", nil))
	if err == nil || d.ErrorCode != openfeature.FlagNotFoundCode {
		t.Errorf("missing flag: %+v %v", d, err)
	}
	d, err = good.BooleanValueDetails(bg, "rollout", false, openfeature.NewTargetlessEvaluationContext(nil))
	if err == nil || d.ErrorCode != openfeature.TargetingKeyMissingCode {
		t.Errorf("no targeting key: %+v %v", d, err)
	}
	// 401 (unknown key) and 403 (suspended restaurant; an operator naming no
	// restaurant is 400): a general error, with the protocol's body.
	bad := client("bad-key", ofrep.WithApiKeyAuth("ossdk_not-a-key"))
	d, err = bad.BooleanValueDetails(bg, "static_on", false, openfeature.NewEvaluationContext("user-1", nil))
	if err == nil || d.ErrorCode != openfeature.GeneralCode || !strings.Contains(d.ErrorMessage, "authentication") {
		t.Errorf("unknown key: %+v %v", d, err)
	}
	super := client("super", ofrep.WithBearerToken(e.tokenFor(tenancy.SuperAdmin, e.A)))
	d, err = super.BooleanValueDetails(bg, "static_on", false, openfeature.NewEvaluationContext("user-1", nil))
	if err == nil || d.ErrorCode != openfeature.GeneralCode {
		t.Errorf("operator without a restaurant: %+v %v", d, err)
	}
	// The bodies themselves, for every status the routes answer.
	check := func(what string, res response, status int, code string) {
		t.Helper()
		var body struct {
			Key          *string `json:"key"`
			ErrorCode    string  `json:"errorCode"`
			ErrorDetails string  `json:"errorDetails"`
		}
		if res.Status != status || json.Unmarshal(res.Body, &body) != nil || body.ErrorCode != code || body.ErrorDetails == "" {
			t.Errorf("%s: %d %s, want %d with errorCode %s", what, res.Status, res.Body, status, code)
		}
		if strings.Contains(string(res.Body), `"error":`) {
			t.Errorf("%s: product error body on an OFREP route: %s", what, res.Body)
		}
	}
	for _, path := range []string{"/ofrep/v1/evaluate/flags/static_on", "/ofrep/v1/evaluate/flags"} {
		check(path+" without credentials", e.do("POST", path, "", nil), 401, "GENERAL")
		check(path+" with a bad key", e.do("POST", path, "ossdk_nope", nil), 401, "GENERAL")
		check(path+" operator without restaurant", e.do("POST", path, e.tokenFor(tenancy.SuperAdmin, e.A), nil), 400, "GENERAL")
		check(path+" other restaurant", e.do("POST", path, key, nil, httpapi.TenantHeader, e.B.R.ID), 403, "GENERAL")
		check(path+" malformed body", e.do("POST", path, key, "{"), 400, "PARSE_ERROR")
	}
	check("missing flag", e.do("POST", "/ofrep/v1/evaluate/flags/nope", key, nil), 404, "FLAG_NOT_FOUND")
	if _, err := e.db.SetRestaurantStatus(tenancy.WithTenant(bg, e.A.R.ID), tenancy.Suspended); err != nil {
		t.Fatal(err)
	}
	check("suspended restaurant", e.do("POST", "/ofrep/v1/evaluate/flags/static_on", key, nil), 403, "GENERAL")
	d, err = good.BooleanValueDetails(bg, "static_on", false, openfeature.NewEvaluationContext("user-1", nil))
	if err == nil || d.ErrorCode != openfeature.GeneralCode || d.Value {
		t.Errorf("suspended restaurant through the provider: %+v %v", d, err)
	}
}

// TestSuspensionSignsOut: suspending a restaurant revokes every token
// issued before; reactivating it does not revive them.
func TestSuspensionSignsOut(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := tenancy.WithTenant(context.Background(), e.A.R.ID)
	before := map[tenancy.Role]string{}
	for _, role := range []tenancy.Role{tenancy.Admin, tenancy.Staff, tenancy.Customer} {
		before[role] = e.tokenFor(role, e.A)
		if res := e.do("GET", "/api/v1/me", before[role], nil); res.Status != http.StatusOK {
			t.Fatalf("%s before: %d", role, res.Status)
		}
	}
	other := e.tokenFor(tenancy.Admin, e.B)
	for _, s := range []tenancy.Status{tenancy.Suspended, tenancy.Active} {
		if _, err := e.db.SetRestaurantStatus(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	for role, tok := range before {
		if res := e.do("GET", "/api/v1/me", tok, nil); res.Status != http.StatusUnauthorized {
			t.Errorf("%s token from before the suspension after reactivation: %d, want 401", role, res.Status)
		}
	}
	time.Sleep(time.Millisecond)
	if res := e.do("GET", "/api/v1/me", e.tokenFor(tenancy.Admin, e.A), nil); res.Status != http.StatusOK {
		t.Errorf("new token after reactivation: %d", res.Status)
	}
	if res := e.do("GET", "/api/v1/me", other, nil); res.Status != http.StatusOK {
		t.Errorf("another restaurant's token: %d", res.Status)
	}
	// Read-only does not sign anyone out.
	tok := e.tokenFor(tenancy.Staff, e.A)
	if _, err := e.db.SetRestaurantStatus(ctx, tenancy.ReadOnly); err != nil {
		t.Fatal(err)
	}
	if res := e.do("GET", "/api/v1/me", tok, nil); res.Status != http.StatusOK {
		t.Errorf("token across read-only: %d", res.Status)
	}
}
