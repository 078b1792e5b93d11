package httpapi_test

import (
	"bytes"
	"context"
	"net/http"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/auth"
	"github.com/shimizu-tech/ordersuite/internal/backup"
	"github.com/shimizu-tech/ordersuite/internal/httpapi"
	"github.com/shimizu-tech/ordersuite/internal/jobs"
	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// Every env gets a backup service over a local directory and a job queue
// that enqueues (workers start only in the tests that need them).
var (
	envBackupsMu sync.Mutex
	envBackups   = map[*env]*backup.Service{}
	envQueues    = map[*env]*jobs.Queue{}
)

func init() {
	envHooks = append(envHooks, func(e *env, srv *httpapi.Server) {
		// River's tables are in every test database (storetest migrates
		// them into its templates, as `ordersuite migrate` does).
		dir := e.t.TempDir()
		svc := &backup.Service{DB: e.db, Storage: backup.Dir{Path: filepath.Join(dir, "backups")}, AppVersion: "test", TempDir: dir}
		q := jobs.New(e.db, jobs.Options{PollInterval: 100 * time.Millisecond})
		svc.RegisterJobs(q, srv.Environments)
		srv.Backups, srv.Jobs = svc, q
		envBackupsMu.Lock()
		envBackups[e], envQueues[e] = svc, q
		envBackupsMu.Unlock()
	})
	for _, p := range []string{"export_tenant/{id}", "restore_latest/{id}"} {
		resourceFixtures["/admin/tenant_backup/"+p] = restaurantFixture
	}
	for _, p := range []string{"delete_backup/{id}", "validate_backup/{id}", "download/{id}"} {
		resourceFixtures["/admin/tenant_backup/"+p] = backupFixture
	}
	resourceFixtures["/admin/tenant_backup/backup_status/{job_id}"] = jobFixture
}

func backupFixture(e *env, tn tenant) map[string]string {
	envBackupsMu.Lock()
	svc := envBackups[e]
	envBackupsMu.Unlock()
	b, err := svc.Export(context.Background(), tn.R.ID, "fixture", nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return map[string]string{"id": b.ID}
}

func jobFixture(e *env, tn tenant) map[string]string {
	j, err := e.db.CreateJob(context.Background(), store.JobRecord{Kind: backup.KindExport, RestaurantID: tn.R.ID})
	if err != nil {
		e.t.Fatal(err)
	}
	return map[string]string{"job_id": j.ID}
}

// startJobs runs the env's job workers for the rest of the test.
func (e *env) startJobs() {
	e.t.Helper()
	envBackupsMu.Lock()
	q := envQueues[e]
	envBackupsMu.Unlock()
	if err := q.Start(context.Background()); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = q.Stop(ctx)
	})
}

// waitJob polls backup_status until the job ends.
func (e *env) waitJob(token, jobID string, headers ...string) map[string]any {
	e.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		res := e.do("GET", "/admin/tenant_backup/backup_status/"+jobID, token, nil, headers...)
		if res.Status != http.StatusOK {
			e.t.Fatalf("backup_status: %d %s", res.Status, res.Body)
		}
		m := res.json(e.t)
		if m["status"] == "complete" || m["status"] == "failed" {
			return m
		}
		time.Sleep(10 * time.Millisecond)
	}
	e.t.Fatalf("job %s did not finish", jobID)
	return nil
}

func tenantDump(t testing.TB, db *store.DB, rid string) map[string][]map[string]any {
	out := map[string][]map[string]any{}
	for _, table := range store.CopyTables() {
		rows, err := db.TenantRows(context.Background(), table, rid)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			delete(r, "restaurant_id")
			if table == "restaurants" {
				delete(r, "id")
				delete(r, "name")
			}
		}
		out[table] = rows
	}
	return out
}

// TestBackupAPIFlow: an admin exports their restaurant and follows the job;
// the operator lists, validates, downloads, clones, restores and deletes.
func TestBackupAPIFlow(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.startJobs()
	admin := e.tokenFor(tenancy.Admin, e.A)
	res := e.do("POST", "/admin/tenant_backup/export_tenant/"+e.A.R.ID, admin, nil)
	if res.Status != http.StatusAccepted {
		t.Fatalf("export: %d %s", res.Status, res.Body)
	}
	jobID := res.json(t)["job_id"].(string)
	done := e.waitJob(admin, jobID)
	if done["status"] != "complete" || done["progress"].(float64) != 100 {
		t.Fatalf("export job: %v", done)
	}
	backupID := done["result"].(map[string]any)["id"].(string)

	// The admin of B does not see A's job; nor do staff.
	if r := e.do("GET", "/admin/tenant_backup/backup_status/"+jobID, e.tokenFor(tenancy.Admin, e.B), nil); r.Status != http.StatusNotFound {
		t.Errorf("B's admin reading A's job: %d", r.Status)
	}
	if r := e.do("GET", "/admin/tenant_backup/backup_status/"+jobID, e.tokenFor(tenancy.Staff, e.A), nil); r.Status != http.StatusForbidden {
		t.Errorf("staff reading a job: %d", r.Status)
	}

	op := e.tokenFor(tenancy.SuperAdmin, e.A)
	list := e.do("GET", "/admin/tenant_backup/backups", op, nil).json(t)["backups"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["id"] != backupID {
		t.Fatalf("backups: %v", list)
	}
	if v := e.do("GET", "/admin/tenant_backup/validate_backup/"+backupID, op, nil).json(t); v["valid"] != true {
		t.Fatalf("validate: %v", v)
	}
	dl := e.do("GET", "/admin/tenant_backup/download/"+backupID, op, nil)
	if dl.Status != http.StatusOK || !bytes.HasPrefix(dl.Body, []byte("PK")) {
		t.Fatalf("download: %d %.40q", dl.Status, dl.Body)
	}

	// Clone twice by API.
	for _, name := range []string{"Alpha Copy 1", "Alpha Copy 2"} {
		res := e.do("POST", "/admin/tenant_backup/clone_tenant", op, map[string]any{"source_restaurant_id": e.A.R.ID, "new_restaurant_name": name})
		if res.Status != http.StatusAccepted {
			t.Fatalf("clone: %d %s", res.Status, res.Body)
		}
		m := res.json(t)
		if j := e.waitJob(op, m["job_id"].(string)); j["status"] != "complete" {
			t.Fatalf("clone job: %v", j)
		}
		if !reflect.DeepEqual(tenantDump(t, e.db, e.A.R.ID), tenantDump(t, e.db, m["restaurant_id"].(string))) {
			t.Errorf("clone %s differs from the source", name)
		}
	}

	// Emergency: read-only, restore from the newest valid backup, active.
	if r := e.do("POST", "/admin/restaurants/"+e.A.R.ID+"/status", op, map[string]any{"status": "read_only"}); r.Status != http.StatusOK {
		t.Fatalf("read_only: %d %s", r.Status, r.Body)
	}
	res = e.do("POST", "/admin/tenant_backup/restore_latest/"+e.A.R.ID, op, nil)
	if res.Status != http.StatusAccepted {
		t.Fatalf("restore_latest: %d %s", res.Status, res.Body)
	}
	if j := e.waitJob(op, res.json(t)["job_id"].(string)); j["status"] != "complete" || j["result"].(map[string]any)["backup_id"] != backupID {
		t.Fatalf("restore job: %v", j)
	}
	if r, _ := e.db.Restaurant(context.Background(), e.A.R.ID); r.Status != tenancy.ReadOnly {
		t.Errorf("the restore changed the status to %s; the operator reactivates after checking", r.Status)
	}
	if r := e.do("GET", "/api/v1/me", admin, nil); r.Status != http.StatusUnauthorized {
		t.Errorf("a token issued before the restore still works: %d", r.Status)
	}

	// Import the backup as a new restaurant by its id.
	res = e.do("POST", "/admin/tenant_backup/import_tenant", op, map[string]any{"backup_id": backupID, "new_restaurant_name": "Alpha Restored"})
	if res.Status != http.StatusAccepted {
		t.Fatalf("import: %d %s", res.Status, res.Body)
	}
	if j := e.waitJob(op, res.json(t)["job_id"].(string)); j["status"] != "complete" {
		t.Fatalf("import job: %v", j)
	}
	for _, bad := range []map[string]any{{"backup_id": "nope"}, {"backup_id": backupID, "target_restaurant_id": store.NewID()}, {"backup_id": backupID, "extra": 1}} {
		if r := e.do("POST", "/admin/tenant_backup/import_tenant", op, bad); r.Status != http.StatusBadRequest {
			t.Errorf("import %v: %d %s", bad, r.Status, r.Body)
		}
	}
	if r := e.do("DELETE", "/admin/tenant_backup/delete_backup/"+backupID, op, nil); r.Status != http.StatusOK {
		t.Fatalf("delete: %d %s", r.Status, r.Body)
	}
	if r := e.do("GET", "/admin/tenant_backup/validate_backup/"+backupID, op, nil); r.Status != http.StatusNotFound {
		t.Errorf("validate after delete: %d", r.Status)
	}
}

// TestInvalidUploadImportsNothing: an uploaded archive that fails
// validation is answered with its problems and leaves no trace.
func TestInvalidUploadImportsNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	before, _ := e.db.Restaurants(context.Background())
	res := e.do("POST", "/admin/tenant_backup/import_tenant", e.tokenFor(tenancy.SuperAdmin, e.A), []byte("PK not really a zip"), "Content-Type", "application/zip")
	if res.Status != http.StatusUnprocessableEntity {
		t.Fatalf("%d %s", res.Status, res.Body)
	}
	v := res.json(t)["validation"].(map[string]any)
	if v["valid"] != false || len(v["problems"].([]any)) == 0 {
		t.Errorf("validation answer: %v", v)
	}
	after, _ := e.db.Restaurants(context.Background())
	if len(after) != len(before) {
		t.Error("a restaurant was created")
	}
	if list, _ := envBackups[e].List(context.Background(), ""); len(list) != 0 {
		t.Errorf("the invalid upload was stored: %v", list)
	}
}

// TestMigrateBetweenTwoServers runs two installations on loopback, each
// with its own database: the source sends a backup to the target's import
// API with an API key, checks the target's validation answer and follows
// its import job; the tenant arrives intact.
func TestMigrateBetweenTwoServers(t *testing.T) {
	t.Parallel()
	target := newEnv(t)
	target.startJobs()
	key, hash, err := auth.NewAPIKey()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := target.db.CreateAPIKey(context.Background(), "from-source", hash); err != nil {
		t.Fatal(err)
	}
	// The key opens the import endpoint and nothing else.
	if r := target.do("GET", "/api/v1/restaurants", key, nil); r.Status != http.StatusForbidden {
		t.Errorf("API key on another route: %d", r.Status)
	}
	if r := target.do("GET", "/admin/tenant_backup/backups", "osk_wrong", nil); r.Status != http.StatusUnauthorized {
		t.Errorf("a wrong key: %d", r.Status)
	}

	envs := map[string]backup.Environment{"staging": {Name: "staging", BaseURL: target.srv.URL, APIKey: key}}
	source := newEnvWith(t, func(srv *httpapi.Server) { srv.Environments = envs })
	source.startJobs()
	op := source.tokenFor(tenancy.SuperAdmin, source.A)
	b, err := envBackups[source].Export(context.Background(), source.A.R.ID, "tester", nil)
	if err != nil {
		t.Fatal(err)
	}
	if r := source.do("POST", "/admin/tenant_backup/migrate_tenant", op, map[string]any{"backup_id": b.ID, "environment": "production"}); r.Status != http.StatusBadRequest {
		t.Errorf("unknown environment: %d %s", r.Status, r.Body)
	}
	res := source.do("POST", "/admin/tenant_backup/migrate_tenant", op, map[string]any{"backup_id": b.ID, "environment": "staging"})
	if res.Status != http.StatusAccepted {
		t.Fatalf("migrate: %d %s", res.Status, res.Body)
	}
	j := source.waitJob(op, res.json(t)["job_id"].(string))
	if j["status"] != "complete" {
		t.Fatalf("migrate job: %v", j)
	}
	result := j["result"].(map[string]any)
	if result["validation"].(map[string]any)["valid"] != true {
		t.Fatalf("target validation: %v", result)
	}
	newID := result["target_restaurant_id"].(string)
	// The target keeps the archive as received, through a migration.
	received, _, err := envBackups[target].Catalog(context.Background(), "")
	if err != nil || len(received) != 1 || received[0].ID != result["target_backup_id"] || received[0].Origin != backup.OriginReceived ||
		received[0].Provenance == nil || received[0].Provenance.Reason != backup.ReasonMigration {
		t.Errorf("stored on the target: %+v %v", received, err)
	}
	if !reflect.DeepEqual(tenantDump(t, source.db, source.A.R.ID), tenantDump(t, target.db, newID)) {
		t.Error("the migrated tenant differs from its source")
	}
	r, err := target.db.Restaurant(context.Background(), newID)
	if err != nil || r.Name != source.A.R.Name {
		t.Errorf("target restaurant %+v %v", r, err)
	}

	// A revoked key no longer works.
	if err := target.db.RevokeAPIKey(context.Background(), "from-source"); err != nil {
		t.Fatal(err)
	}
	if r := target.do("POST", "/admin/tenant_backup/import_tenant", key, map[string]any{"backup_id": "x"}); r.Status != http.StatusUnauthorized {
		t.Errorf("revoked key: %d", r.Status)
	}
}

// newEnvWith is newEnv with a last change to the server before it serves.
// The change is made before the capabilities' hooks run, and touches no
// other test's env.
func newEnvWith(t *testing.T, change func(*httpapi.Server)) *env {
	t.Helper()
	return newEnvFirst(t, change)
}
