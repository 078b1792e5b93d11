package httpapi_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"testing"

	"github.com/shimizu-tech/ordersuite/internal/auth"
	"github.com/shimizu-tech/ordersuite/internal/httpapi"
	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// apiKeyRoutes are the only routes a migration API key may call: the upload
// into a new restaurant and the status of the jobs it started.
var apiKeyRoutes = map[string]bool{
	"POST /admin/tenant_backup/import_tenant":         true,
	"GET /admin/tenant_backup/backup_status/{job_id}": true,
}

func (e *env) newAPIKey(name string) (string, store.APIKey) {
	e.t.Helper()
	key, hash, err := auth.NewAPIKey()
	if err != nil {
		e.t.Fatal(err)
	}
	k, err := e.db.CreateAPIKey(context.Background(), name, hash)
	if err != nil {
		e.t.Fatal(err)
	}
	return key, k
}

// TestBackupAPIKeyScopeFromRouteTable: an API key is refused with 403 on
// every route of the table except the two of the migration flow, and the
// table marks no other route for keys. Nothing of the tenant changes.
func TestBackupAPIKeyScopeFromRouteTable(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	key, _ := e.newAPIKey("from-staging")
	paths := map[string]string{} // fixtures first: they add rows of their own
	for _, rt := range protectedRoutes() {
		paths[routeName(rt)] = e.pathFor(rt, e.A)
	}
	before := e.snapshot(e.A)
	for _, rt := range protectedRoutes() {
		name := routeName(rt)
		if rt.APIKey != apiKeyRoutes[name] {
			t.Errorf("%s: the table says APIKey=%v; keys may call only %v", name, rt.APIKey, apiKeyRoutes)
		}
		if rt.APIKey {
			continue
		}
		for _, headers := range [][]string{nil, {httpapi.TenantHeader, e.A.R.ID}} {
			res := e.do(rt.Method, paths[name], key, bodyFor(rt), headers...)
			if res.Status != http.StatusForbidden {
				t.Errorf("%s with an API key (headers %v): %d %s, want 403", name, headers, res.Status, res.Body)
			}
		}
	}
	if after := e.snapshot(e.A); after != before {
		t.Error("requests made with an API key changed the tenant")
	}
}

// TestBackupAPIKeyMigrationFlowOnly: on the two routes open to it, a key may
// upload an archive into a new restaurant and follow that job; it may not
// name or replace an existing restaurant, import a stored backup by id, or
// read another job. The import is audited under the key, never as an
// operator.
func TestBackupAPIKeyMigrationFlowOnly(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.startJobs()
	ctx := context.Background()
	key, k := e.newAPIKey("from-staging")
	svc := envBackups[e]
	b, err := svc.Export(ctx, e.A.R.ID, "tester", nil)
	if err != nil {
		t.Fatal(err)
	}
	_, rc, err := svc.Open(ctx, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	archive, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	upload := func(query url.Values) response {
		t.Helper()
		return e.do("POST", "/admin/tenant_backup/import_tenant?"+query.Encode(), key, archive, "Content-Type", "application/zip")
	}
	before := e.snapshot(e.A)

	// Replacing an existing restaurant, or naming one at all.
	for _, target := range []string{e.A.R.ID, store.NewID(), ""} {
		res := upload(url.Values{"target_restaurant_id": {target}})
		if res.Status != http.StatusForbidden {
			t.Errorf("upload with target_restaurant_id=%q: %d %s, want 403", target, res.Status, res.Body)
		} else if f := res.json(t)["error"].(map[string]any)["field"]; f != "target_restaurant_id" {
			t.Errorf("the refusal names %v, want target_restaurant_id", f)
		}
	}
	// Importing a stored backup by its id, into a new or an existing restaurant.
	for _, body := range []map[string]any{{"backup_id": b.ID}, {"backup_id": b.ID, "target_restaurant_id": e.A.R.ID}} {
		if res := e.do("POST", "/admin/tenant_backup/import_tenant", key, body); res.Status != http.StatusForbidden {
			t.Errorf("import of a stored backup %v: %d %s, want 403", body, res.Status, res.Body)
		}
	}
	// Listing, validating, downloading stored backups.
	for _, path := range []string{"/admin/tenant_backup/backups", "/admin/tenant_backup/validate_backup/" + b.ID, "/admin/tenant_backup/download/" + b.ID} {
		if res := e.do("GET", path, key, nil); res.Status != http.StatusForbidden {
			t.Errorf("GET %s with a key: %d, want 403", path, res.Status)
		}
	}
	if after := e.snapshot(e.A); after != before {
		t.Fatal("a refused request changed the restaurant")
	}

	// The migration flow itself: a new restaurant, followed to the end.
	res := upload(url.Values{"new_restaurant_name": {"Alpha (migrated)"}})
	if res.Status != http.StatusAccepted {
		t.Fatalf("upload into a new restaurant: %d %s", res.Status, res.Body)
	}
	m := res.json(t)
	newID, jobID := m["restaurant_id"].(string), m["job_id"].(string)
	if newID == e.A.R.ID {
		t.Fatal("the upload went into the existing restaurant")
	}
	if j := e.waitJob(key, jobID); j["status"] != "complete" {
		t.Fatalf("import job: %v", j)
	}
	// Another job (an operator's export) is not the key's to read.
	other := e.do("POST", "/admin/tenant_backup/export_tenant/"+e.A.R.ID, e.token(e.super), nil).json(t)["job_id"].(string)
	if r := e.do("GET", "/admin/tenant_backup/backup_status/"+other, key, nil); r.Status != http.StatusNotFound {
		t.Errorf("the key reads an operator's job: %d", r.Status)
	}

	// The audit log names the key.
	res = e.do("GET", "/admin/audit_log", e.token(e.super), nil, httpapi.TenantHeader, newID)
	if res.Status != http.StatusOK {
		t.Fatalf("audit log: %d %s", res.Status, res.Body)
	}
	entries := decode[struct {
		Entries []store.AuditEntry `json:"entries"`
	}](t, res).Entries
	found := false
	for _, en := range entries {
		if en.ActorRole == tenancy.SuperAdmin {
			t.Errorf("audit entry %s %s is recorded as super_admin", en.Action, en.ResourceType)
		}
		if en.Action == "import" {
			found = true
			if en.ActorRole != store.ActorAPIKey || en.ActorID != k.ID || en.ActorName != "from-staging" {
				t.Errorf("import audited as %s %s %q, want api_key %s \"from-staging\"", en.ActorRole, en.ActorID, en.ActorName, k.ID)
			}
		}
	}
	if !found {
		t.Fatalf("no import in the new restaurant's audit log: %+v", entries)
	}
}
