package httpapi_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/shimizu-tech/ordersuite/internal/httpapi"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// refusedRole is a role the route refuses, if there is one.
func refusedRole(rt httpapi.Route) (tenancy.Role, bool) {
	for _, r := range []tenancy.Role{tenancy.Customer, tenancy.Staff, tenancy.Admin, tenancy.SuperAdmin} {
		if !rt.Allows(r) {
			return r, true
		}
	}
	return "", false
}

// TestEveryRouteRefusalMatchesOpenAPI: every protected route, called
// without a token, with a forged one and by a role it refuses, answers
// what the document says it does.
func TestEveryRouteRefusalMatchesOpenAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, router := e.apiDoc()
	for _, rt := range httpapi.Routes() {
		if rt.Roles == nil {
			continue
		}
		path := e.pathFor(rt, e.A)
		if res := e.validated(router, rt.Method, path, "", bodyFor(rt)); res.Status != http.StatusUnauthorized {
			t.Errorf("%s %s without a token: %d, want 401", rt.Method, rt.Pattern, res.Status)
		}
		e.validated(router, rt.Method, path, "not-a-token", bodyFor(rt))
		if role, ok := refusedRole(rt); ok {
			if res := e.validated(router, rt.Method, path, e.tokenFor(role, e.A), bodyFor(rt), tenantHeaderFor(role, e.A)...); res.Status != http.StatusForbidden {
				t.Errorf("%s %s as %s: %d, want 403", rt.Method, rt.Pattern, role, res.Status)
			}
		}
	}
}

// TestAdminAndBackupAnswersMatchOpenAPI calls every route outside /api/v1
// (the admin API, tenant metrics, tenant backup, OFREP, probes) with real
// data, and checks every answer, success or error, against the document.
func TestAdminAndBackupAnswersMatchOpenAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, router := e.apiDoc()
	for _, rt := range httpapi.Routes() {
		if strings.HasPrefix(rt.Pattern, "/api/v1/") {
			continue
		}
		role := tenancy.Admin
		if !rt.Allows(role) {
			role = tenancy.SuperAdmin
		}
		tok := ""
		if rt.Roles != nil {
			tok = e.tokenFor(role, e.A)
		}
		res := e.validated(router, rt.Method, e.pathFor(rt, e.A), tok, bodyFor(rt), tenantHeaderFor(role, e.A)...)
		if res.Status >= 500 {
			t.Errorf("%s %s: %d %s", rt.Method, rt.Pattern, res.Status, res.Body)
		}
	}

	super, admin := e.tokenFor(tenancy.SuperAdmin, e.A), e.admin(e.A)
	asA := []string{httpapi.TenantHeader, e.A.R.ID}
	expect := func(res response, status int) {
		t.Helper()
		if res.Status != status {
			t.Errorf("answered %d, want %d: %s", res.Status, status, res.Body)
		}
	}

	// Flags: platform defaults, tenant rows, conflicts, evaluation.
	expect(e.validated(router, "POST", "/admin/feature_flags", super, map[string]any{"key": "doc_global", "global": true, "enabled": true}), 201)
	expect(e.validated(router, "POST", "/admin/feature_flags", super, map[string]any{"key": "doc_rollout", "enabled": true, "percentage": 50}, asA...), 201)
	expect(e.validated(router, "POST", "/admin/feature_flags", super, map[string]any{"key": "doc_rollout", "enabled": true}, asA...), 409)
	expect(e.validated(router, "POST", "/admin/feature_flags", super, map[string]any{"key": "x", "percentage": 101}, asA...), 400)
	expect(e.validated(router, "GET", "/admin/feature_flags", super, nil), 200)
	expect(e.validated(router, "GET", "/admin/feature_flags", admin, nil), 200)
	expect(e.validated(router, "GET", "/admin/feature_flags?restaurant_id="+e.A.R.ID, super, nil), 200)
	expect(e.validated(router, "GET", "/admin/feature_flags/stale?days=7", admin, nil), 200)
	expect(e.validated(router, "GET", "/admin/feature_flags/stale?days=0", admin, nil), 400)
	expect(e.validated(router, "POST", "/admin/feature_flags/enable_globally", super, map[string]any{"key": "doc_global", "percentage": 10}), 200)
	expect(e.validated(router, "GET", "/api/v1/feature_flags/evaluate?keys=doc_rollout,doc_global&entity_id=u-1", admin, nil), 200)
	expect(e.validated(router, "GET", "/api/v1/feature_flags/evaluate", admin, nil), 200)
	expect(e.validated(router, "GET", "/api/v1/feature_flags/evaluate?keys=Not%20A%20Key", admin, nil), 400)
	expect(e.validated(router, "GET", "/api/v1/feature_flags/evaluate", super, nil), 400) // no tenant named
	expect(e.validated(router, "GET", "/admin/feature_flags/"+e.B.R.ID, admin, nil), 404)

	// OFREP: successes, the protocol's errors, and the bulk ETag.
	ctx := map[string]any{"context": map[string]any{"targetingKey": "user-7"}}
	expect(e.validated(router, "POST", "/ofrep/v1/evaluate/flags/doc_rollout", admin, ctx), 200)
	expect(e.validated(router, "POST", "/ofrep/v1/evaluate/flags/doc_rollout", admin, map[string]any{}), 400) // targeting key missing
	expect(e.validated(router, "POST", "/ofrep/v1/evaluate/flags/doc_rollout", admin, "{"), 400)
	expect(e.validated(router, "POST", "/ofrep/v1/evaluate/flags/no_such_flag", admin, ctx), 404)
	bulk := e.validated(router, "POST", "/ofrep/v1/evaluate/flags", admin, ctx)
	expect(bulk, 200)
	expect(e.validated(router, "POST", "/ofrep/v1/evaluate/flags", admin, ctx, "If-None-Match", bulk.Header.Get("ETag")), 304)
	expect(e.validated(router, "POST", "/ofrep/v1/evaluate/flags", admin, `{"context": 1}`), 400)

	// Restaurants' status: a read-only tenant refuses writes with 423.
	b := e.B.R.ID
	expect(e.validated(router, "POST", "/admin/restaurants/"+b+"/status", super, map[string]any{"status": "read_only"}), 200)
	expect(e.validated(router, "POST", "/api/v1/customers", e.admin(e.B), map[string]any{"name": "Late guest"}), 423)
	expect(e.validated(router, "POST", "/admin/restaurants/"+b+"/status", super, map[string]any{"status": "closed"}), 400)
	expect(e.validated(router, "POST", "/admin/restaurants/"+b+"/status", super, map[string]any{"status": "active"}), 200)
	expect(e.validated(router, "GET", "/admin/audit_log?per_page=5", admin, nil), 200)
	expect(e.validated(router, "GET", "/admin/audit_log?per_page=500", admin, nil), 400)

	// Tenant metrics over ranges, and their refusals.
	expect(e.validated(router, "GET", "/admin/tenant_metrics/all_tenants?start_date=2026-01-01&end_date=2026-12-31", super, nil), 200)
	expect(e.validated(router, "GET", "/admin/tenant_metrics/tenant_comparison?restaurant_ids[]="+e.A.R.ID+"&restaurant_ids[]="+b, super, nil), 200)
	expect(e.validated(router, "GET", "/admin/tenant_metrics/tenant_comparison?restaurant_ids[]=nope", super, nil), 400)
	expect(e.validated(router, "GET", "/admin/tenant_metrics/"+e.A.R.ID+"/usage_stats?start_date=2026-02-30", admin, nil), 400)
	expect(e.validated(router, "GET", "/admin/tenant_metrics/"+e.A.R.ID+"/events?event_type=api_request&per_page=5", admin, nil), 200)
	first := e.validated(router, "GET", "/admin/tenant_metrics/"+e.A.R.ID+"/events?per_page=1", admin, nil)
	expect(first, 200)
	var firstPage struct {
		NextCursor string `json:"next_cursor"`
	}
	if err := json.Unmarshal(first.Body, &firstPage); err != nil || firstPage.NextCursor == "" {
		t.Fatalf("events page without next_cursor: %s", first.Body)
	}
	expect(e.validated(router, "GET", "/admin/tenant_metrics/"+e.A.R.ID+"/events?per_page=1&cursor="+url.QueryEscape(firstPage.NextCursor), admin, nil), 200)
	expect(e.validated(router, "GET", "/admin/tenant_metrics/"+e.A.R.ID+"/events?page=2", admin, nil), 400)
	expect(e.validated(router, "GET", "/admin/tenant_metrics/"+b+"/health_metrics", admin, nil), 404)

	// Backups: list, validate, follow, download, import (stored and
	// uploaded, valid and not), clone, migrate, delete, restore.
	id := backupFixture(e, e.A)["id"]
	expect(e.validated(router, "GET", "/admin/tenant_backup/backups?restaurant_id="+e.A.R.ID, super, nil), 200)
	expect(e.validated(router, "GET", "/admin/tenant_backup/validate_backup/"+url.PathEscape(id), super, nil), 200)
	expect(e.validated(router, "GET", "/admin/tenant_backup/validate_backup/no_such_backup", super, nil), 404)
	archive := e.validated(router, "GET", "/admin/tenant_backup/download/"+url.PathEscape(id), super, nil)
	expect(archive, 200)
	exp := e.validated(router, "POST", "/admin/tenant_backup/export_tenant/"+e.A.R.ID, admin, nil)
	expect(exp, 202)
	expect(e.validated(router, "GET", "/admin/tenant_backup/backup_status/"+exp.json(t)["job_id"].(string), admin, nil), 200)
	expect(e.validated(router, "GET", "/admin/tenant_backup/backup_status/"+exp.json(t)["job_id"].(string), e.admin(e.B), nil), 404)
	expect(e.validated(router, "POST", "/admin/tenant_backup/import_tenant", super, map[string]any{"backup_id": id, "new_restaurant_name": "Restored Alpha"}), 202)
	expect(e.validated(router, "POST", "/admin/tenant_backup/import_tenant", super, map[string]any{"backup_id": "missing"}), 400)
	expect(e.validated(router, "POST", "/admin/tenant_backup/import_tenant?new_restaurant_name=Uploaded", super, archive.Body, "Content-Type", "application/zip"), 202)
	expect(e.validated(router, "POST", "/admin/tenant_backup/import_tenant", super, []byte("PK not really a zip"), "Content-Type", "application/zip"), 422)
	expect(e.validated(router, "POST", "/admin/tenant_backup/clone_tenant", super, map[string]any{"source_restaurant_id": e.A.R.ID, "new_restaurant_name": "Alpha Copy"}), 202)
	expect(e.validated(router, "POST", "/admin/tenant_backup/clone_tenant", super, map[string]any{"source_restaurant_id": e.A.R.ID}), 400)
	expect(e.validated(router, "POST", "/admin/tenant_backup/migrate_tenant", super, map[string]any{"backup_id": id, "environment": "nowhere"}), 400)
	// The loop above started a restore of A already: a second is refused.
	expect(e.validated(router, "POST", "/admin/tenant_backup/restore_latest/"+e.A.R.ID, super, nil), 409)
	expect(e.validated(router, "POST", "/admin/tenant_backup/restore_latest/"+e.B.R.ID, super, nil), 202)
	expect(e.validated(router, "DELETE", "/admin/tenant_backup/delete_backup/"+url.PathEscape(id), super, nil), 200)

	expect(e.validated(router, "GET", "/health", "", nil), 200)
	expect(e.validated(router, "GET", "/ready", "", nil), 200)
}
