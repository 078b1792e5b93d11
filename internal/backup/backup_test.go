package backup_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/auth"
	"github.com/shimizu-tech/ordersuite/internal/backup"
	"github.com/shimizu-tech/ordersuite/internal/demo"
	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/storetest"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

func init() { auth.SetFastHashingForTests() }

// newService is a backup service over a fresh database and a local
// directory.
func newService(t testing.TB) *backup.Service {
	t.Helper()
	return serviceOn(t, storetest.Open(t))
}

// newDemoService is newService on a database holding the demo restaurant
// with days of history, copied from a seeded template.
func newDemoService(t testing.TB, days int) (*backup.Service, demo.Credentials) {
	t.Helper()
	db, creds := storetest.OpenDemo(t, days)
	return serviceOn(t, db), creds
}

func serviceOn(t testing.TB, db *store.DB) *backup.Service {
	return &backup.Service{DB: db, Storage: backup.Dir{Path: filepath.Join(t.TempDir(), "backups")}, AppVersion: "test", TempDir: t.TempDir()}
}

// seedTenant creates a restaurant with data in every table the product can
// fill: the demo data where it exists, plus users and events.
func seedTenant(t testing.TB, db *store.DB, name string, events int) tenancy.Restaurant {
	t.Helper()
	ctx := context.Background()
	r, err := db.CreateRestaurant(ctx, name, "SD")
	if err != nil {
		t.Fatal(err)
	}
	tctx := tenancy.WithTenant(ctx, r.ID)
	hash, err := auth.HashPassword("a long enough password")
	if err != nil {
		t.Fatal(err)
	}
	for i, role := range []tenancy.Role{tenancy.Admin, tenancy.Staff, tenancy.Customer} {
		if _, err := db.CreateUser(tctx, tenancy.User{Email: fmt.Sprintf("u%d@%s.test", i, r.ID), Name: "User " + string(role), Role: role, PasswordHash: hash}); err != nil {
			t.Fatal(err)
		}
	}
	pct := 30
	if _, err := db.CreateFeatureFlag(tctx, store.FeatureFlag{Key: "advanced_analytics", Description: "seeded", Enabled: true,
		Percentage: &pct, Configuration: json.RawMessage(`{"theme":"dark","limits":[1,2]}`)}); err != nil {
		t.Fatal(err)
	}
	insertEvents(t, db, r.ID, events)
	return r
}

func insertEvents(t testing.TB, db *store.DB, rid string, n int) {
	t.Helper()
	batch := make([]store.TenantEvent, 0, 1000)
	for i := 0; i < n; i++ {
		data, _ := json.Marshal(map[string]any{"path": "/api/v1/orders", "method": "GET", "duration_ms": i % 97, "status": 200, "seq": i})
		batch = append(batch, store.TenantEvent{RestaurantID: rid, Type: "api_request", Data: data})
		if len(batch) == cap(batch) || i == n-1 {
			if err := db.InsertEvents(context.Background(), batch); err != nil {
				t.Fatal(err)
			}
			batch = batch[:0]
		}
	}
}

// dump returns every row of a tenant, table by table, without its tenant
// column, so two tenants' data compare directly.
func dump(t testing.TB, db *store.DB, rid string) map[string][]map[string]any {
	t.Helper()
	out := map[string][]map[string]any{}
	for _, table := range store.CopyTables() {
		rows, err := db.TenantRows(context.Background(), table, rid)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			if table == "restaurants" {
				delete(r, "id")
			}
			delete(r, "restaurant_id")
		}
		out[table] = rows
	}
	return out
}

// compareTenants reports every table whose rows differ.
func compareTenants(t testing.TB, db *store.DB, a, b string, ignore ...string) {
	t.Helper()
	da, db2 := dump(t, db, a), dump(t, db, b)
	for _, col := range ignore {
		for _, rows := range [][]map[string]any{da["restaurants"], db2["restaurants"]} {
			for _, r := range rows {
				delete(r, col)
			}
		}
	}
	for _, table := range store.CopyTables() {
		if !reflect.DeepEqual(da[table], db2[table]) {
			t.Errorf("table %s differs: %d rows vs %d rows\nfirst: %v\nsecond: %v", table, len(da[table]), len(db2[table]), first(da[table]), first(db2[table]))
		}
	}
}

func first(rows []map[string]any) any {
	if len(rows) == 0 {
		return nil
	}
	return rows[0]
}

func countRestaurants(t testing.TB, db *store.DB) int {
	t.Helper()
	rs, err := db.Restaurants(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return len(rs)
}

func TestRoundTripIntoNewRestaurant(t *testing.T) {
	t.Parallel()
	s := newService(t)
	ctx := context.Background()
	src := seedTenant(t, s.DB, "Source Sushi", 250)
	other := seedTenant(t, s.DB, "Other Bistro", 10)
	otherBefore := dump(t, s.DB, other.ID)

	b, err := s.Export(ctx, src.ID, "tester", nil)
	if err != nil {
		t.Fatal(err)
	}
	if b.RestaurantID != src.ID || b.Size == 0 {
		t.Fatalf("backup %+v", b)
	}
	rep, err := s.Validate(ctx, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Valid {
		t.Fatalf("fresh export is invalid: %v", rep.Problems)
	}
	for _, table := range store.CopyTables() {
		if _, ok := rep.Manifest.Tables[table]; !ok {
			t.Errorf("manifest lacks table %s", table)
		}
	}
	if rep.Manifest.Tables["tenant_events"].Count != 250 || rep.Manifest.RestaurantName != "Source Sushi" {
		t.Errorf("manifest: %+v", rep.Manifest)
	}
	filled := 0
	for _, e := range rep.Manifest.Tables {
		if e.Count > 0 {
			filled++
		}
	}
	if filled < 4 {
		t.Errorf("the seeded tenant fills only %d tables; the round trip would prove little: %+v", filled, rep.Manifest.Tables)
	}

	stats, err := s.Restore(ctx, b.ID, backup.ImportOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if stats.RestaurantID == src.ID || !store.ValidID(stats.RestaurantID) {
		t.Fatalf("import went to %q", stats.RestaurantID)
	}
	compareTenants(t, s.DB, src.ID, stats.RestaurantID)
	if !reflect.DeepEqual(dump(t, s.DB, other.ID), otherBefore) {
		t.Error("another tenant changed")
	}

	// Restored users can log in with their passwords.
	svc := &auth.Service{DB: s.DB, Secret: []byte("0123456789abcdef0123456789abcdef")}
	users, err := s.DB.UsersByEmail(ctx, "u0@"+src.ID+".test")
	if err != nil || len(users) != 2 {
		t.Fatalf("users by email: %v %v", users, err)
	}
	if _, err := svc.Login(ctx, "u0@"+src.ID+".test", "a long enough password", stats.RestaurantID); err != nil {
		t.Errorf("restored user cannot log in: %v", err)
	}
}

func TestCloneTwice(t *testing.T) {
	t.Parallel()
	s := newService(t)
	ctx := context.Background()
	src := seedTenant(t, s.DB, "Clone Source", 40)
	before := dump(t, s.DB, src.ID)
	var ids []string
	for _, name := range []string{"Clone One", "Clone Two"} {
		stats, err := s.Clone(ctx, src.ID, name, "tester", "", nil)
		if err != nil {
			t.Fatalf("clone %s: %v", name, err)
		}
		r, err := s.DB.Restaurant(ctx, stats.RestaurantID)
		if err != nil || r.Name != name {
			t.Fatalf("clone restaurant %+v %v", r, err)
		}
		compareTenants(t, s.DB, src.ID, stats.RestaurantID, "name")
		ids = append(ids, stats.RestaurantID)
	}
	if ids[0] == ids[1] {
		t.Fatal("both clones have one id")
	}
	if !reflect.DeepEqual(dump(t, s.DB, src.ID), before) {
		t.Error("the source changed")
	}
	if _, err := s.Clone(ctx, src.ID, " ", "tester", "", nil); err == nil {
		t.Error("clone without a name accepted")
	}
	if _, err := s.Clone(ctx, store.NewID(), "X", "tester", "", nil); err == nil {
		t.Error("clone of an unknown restaurant accepted")
	}
}

func TestRestoreReplacesExistingTenant(t *testing.T) {
	t.Parallel()
	s := newService(t)
	ctx := context.Background()
	src := seedTenant(t, s.DB, "Replace Me", 30)
	want := dump(t, s.DB, src.ID)
	b, err := s.Export(ctx, src.ID, "tester", nil)
	if err != nil {
		t.Fatal(err)
	}
	// The tenant changes after the backup: a new user, more events, a rename.
	tctx := tenancy.WithTenant(ctx, src.ID)
	if _, err := s.DB.CreateUser(tctx, tenancy.User{Email: "late@x.test", Role: tenancy.Staff, PasswordHash: "x"}); err != nil {
		t.Fatal(err)
	}
	insertEvents(t, s.DB, src.ID, 5)
	name := "Corrupted"
	if _, err := s.DB.UpdateRestaurant(tctx, store.RestaurantPatch{Name: &name}); err != nil {
		t.Fatal(err)
	}
	stats, err := s.Restore(ctx, b.ID, backup.ImportOptions{TargetID: src.ID}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if stats.RestaurantID != src.ID {
		t.Fatalf("restored into %s", stats.RestaurantID)
	}
	got := dump(t, s.DB, src.ID)
	if got["restaurants"][0]["tokens_valid_after"] == nil {
		t.Error("a restore did not revoke the tokens issued before it")
	}
	delete(got["restaurants"][0], "tokens_valid_after")
	delete(want["restaurants"][0], "tokens_valid_after")
	if !reflect.DeepEqual(got, want) {
		t.Errorf("after restore the tenant differs from its backup")
	}
	// Restore from the newest valid backup skips a corrupt newer one.
	good, err := s.Export(ctx, src.ID, "tester", nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = good
	newest, err := s.RestoreNewestValid(ctx, src.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if newest.Backup.ID != good.ID {
		t.Errorf("restored %s, want the newest %s", newest.Backup.ID, good.ID)
	}
}

func TestCleanupKeepsNewestPerTenant(t *testing.T) {
	t.Parallel()
	s := newService(t)
	ctx := context.Background()
	a := seedTenant(t, s.DB, "A", 1)
	bb := seedTenant(t, s.DB, "B", 1)
	for i := 0; i < 4; i++ {
		if _, err := s.Export(ctx, a.ID, "tester", nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Export(ctx, bb.ID, "tester", nil); err != nil {
		t.Fatal(err)
	}
	all, _ := s.List(ctx, a.ID)
	deleted, err := s.Cleanup(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(deleted) != 2 {
		t.Fatalf("deleted %d, want 2", len(deleted))
	}
	left, _ := s.List(ctx, a.ID)
	if len(left) != 2 || left[0].ID != all[0].ID || left[1].ID != all[1].ID {
		t.Errorf("kept %v, want the two newest of %v", left, all)
	}
	if lb, _ := s.List(ctx, bb.ID); len(lb) != 1 {
		t.Errorf("B's only backup was touched: %v", lb)
	}
	if _, err := s.Cleanup(ctx, 0); err == nil {
		t.Error("keep 0 accepted")
	}
}

func TestEncryptedBackups(t *testing.T) {
	t.Parallel()
	s := newService(t)
	ctx := context.Background()
	key, err := backup.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	if s.Cipher, err = backup.NewCipher(key); err != nil {
		t.Fatal(err)
	}
	src := seedTenant(t, s.DB, "Secret Sauce", 20)
	b, err := s.Export(ctx, src.ID, "tester", nil)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(s.Storage.(backup.Dir).Path, b.File))
	if err != nil {
		t.Fatal(err)
	}
	if !b.Encrypted || string(raw[:4]) == "PK\x03\x04" {
		t.Fatal("archive stored in clear")
	}
	stats, err := s.Restore(ctx, b.ID, backup.ImportOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	compareTenants(t, s.DB, src.ID, stats.RestaurantID)
	other, _ := backup.NewKey()
	s.Cipher, _ = backup.NewCipher(other)
	if rep, err := s.Validate(ctx, b.ID); err == nil && rep.Valid {
		t.Error("decrypted with the wrong key")
	}
	if _, err := backup.NewCipher("not a key"); err == nil {
		t.Error("malformed key accepted")
	}
}

func TestDrill(t *testing.T) {
	t.Parallel()
	s := newService(t)
	ctx := context.Background()
	r := seedTenant(t, s.DB, "Drill Hall", 120)
	n := countRestaurants(t, s.DB)
	rep, err := s.Drill(ctx, r.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.RPOSeconds != -1 || rep.RTOSeconds <= 0 || rep.Rows["tenant_events"] != 120 {
		t.Fatalf("first drill: %+v", rep)
	}
	if countRestaurants(t, s.DB) != n {
		t.Error("the scratch tenant was left behind")
	}
	rep2, err := s.Drill(ctx, r.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep2.NewestBackup != rep.BackupID || rep2.RPOSeconds < 0 {
		t.Errorf("second drill did not report the first backup's age: %+v", rep2)
	}
}

// BenchmarkExportImport measures export and import throughput in-process
// for a tenant of 10k rows (mostly events) on the engine under test.
func BenchmarkExportImport(b *testing.B) {
	s := newService(b)
	ctx := context.Background()
	src := seedTenant(b, s.DB, "Bench", 10000)
	rows := 0
	for _, table := range store.CopyTables() {
		r, _ := s.DB.TenantRows(ctx, table, src.ID)
		rows += len(r)
	}
	b.ResetTimer()
	var exportDur, importDur time.Duration
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		bk, err := s.Export(ctx, src.ID, "bench", nil)
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if _, err := s.Restore(ctx, bk.ID, backup.ImportOptions{}, nil); err != nil {
			b.Fatal(err)
		}
		exportDur += t1.Sub(t0)
		importDur += time.Since(t1)
	}
	b.ReportMetric(float64(rows*b.N)/exportDur.Seconds(), "export_rows/s")
	b.ReportMetric(float64(rows*b.N)/importDur.Seconds(), "import_rows/s")
}

// TestDemoTenantRoundTrip: the demo restaurant — menu, orders, payments,
// reservations, loyalty, feedback, notifications — exports, imports as a
// new tenant and clones twice with every table equal except restaurant_id.
func TestDemoTenantRoundTrip(t *testing.T) {
	t.Parallel()
	s, creds := newDemoService(t, demo.HistoryDays)
	ctx := context.Background()
	rid := creds.RestaurantID
	b, err := s.Export(ctx, rid, "tester", nil)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := s.Validate(ctx, b.ID)
	if err != nil || !rep.Valid {
		t.Fatalf("demo export invalid: %v %v", rep.Problems, err)
	}
	filled := []string{}
	for _, table := range store.CopyTables() {
		if rep.Manifest.Tables[table].Count > 0 {
			filled = append(filled, table)
		}
	}
	for _, want := range []string{"menu_items", "orders", "order_items", "reservations"} {
		if !slices.Contains(filled, want) {
			t.Errorf("the demo tenant has no %s; filled: %v", want, filled)
		}
	}
	stats, err := s.Restore(ctx, b.ID, backup.ImportOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	compareTenants(t, s.DB, rid, stats.RestaurantID)
	for _, name := range []string{"Demo Clone A", "Demo Clone B"} {
		c, err := s.Clone(ctx, rid, name, "tester", "", nil)
		if err != nil {
			t.Fatalf("clone %s: %v", name, err)
		}
		compareTenants(t, s.DB, rid, c.RestaurantID, "name")
	}
	drill, err := s.Drill(ctx, rid, nil)
	if err != nil || !drill.OK() {
		t.Fatalf("drill of the demo tenant: %+v %v", drill, err)
	}
}
