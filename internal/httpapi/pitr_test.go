package httpapi_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// TestPointInTimeBackupAPI: the operator finds the moment with the diff,
// restores the restaurant as it was then into a new restaurant by job, and
// a moment outside the recovery chain is refused at once naming at.
func TestPointInTimeBackupAPI(t *testing.T) {
	e := newEnv(t)
	e.startJobs()
	op := e.tokenFor(tenancy.SuperAdmin, e.A)
	envBackupsMu.Lock()
	svc := envBackups[e]
	envBackupsMu.Unlock()

	before := time.Now().UTC()
	time.Sleep(2 * time.Millisecond)
	if _, err := svc.Export(context.Background(), e.A.R.ID, "tester", nil); err != nil {
		t.Fatal(err)
	}
	kept := e.menuItem(e.A, 1200)
	time.Sleep(2 * time.Millisecond)
	moment := time.Now().UTC()
	time.Sleep(2 * time.Millisecond)
	admin := e.tokenFor(tenancy.Admin, e.A)
	if r := e.do("DELETE", "/api/v1/menu_items/"+kept.ID, admin, nil); r.Status != http.StatusNoContent && r.Status != http.StatusOK {
		t.Fatalf("delete menu item: %d %s", r.Status, r.Body)
	}
	after := time.Now().UTC()

	q := url.Values{"restaurant_id": {e.A.R.ID}, "from": {moment.Format(time.RFC3339Nano)}, "to": {after.Format(time.RFC3339Nano)}}
	res := e.do("GET", "/admin/tenant_backup/diff?"+q.Encode(), op, nil)
	if res.Status != http.StatusOK {
		t.Fatalf("diff: %d %s", res.Status, res.Body)
	}
	tables := res.json(t)["tables"].([]any)
	if len(tables) != 1 || tables[0].(map[string]any)["table"] != "menu_items" || tables[0].(map[string]any)["deleted"].(float64) != 1 {
		t.Fatalf("diff tables: %v", tables)
	}

	res = e.do("POST", "/admin/tenant_backup/restore_point_in_time", op, map[string]any{
		"restaurant_id": e.A.R.ID, "at": moment.Format(time.RFC3339Nano), "new_name": "Alpha before the delete"})
	if res.Status != http.StatusAccepted {
		t.Fatalf("restore_point_in_time: %d %s", res.Status, res.Body)
	}
	m := res.json(t)
	if j := e.waitJob(op, m["job_id"].(string)); j["status"] != "complete" {
		t.Fatalf("point-in-time job: %v", j)
	}
	var n int
	if err := e.db.SQL().QueryRowContext(context.Background(), `SELECT COUNT(*) FROM menu_items WHERE restaurant_id = $1 AND id = $2`,
		m["restaurant_id"], kept.ID).Scan(&n); err != nil || n != 1 {
		t.Fatalf("the restored restaurant has the deleted item %d times (%v), want once", n, err)
	}

	for _, tc := range []struct {
		body   map[string]any
		status int
		field  string
	}{
		{map[string]any{"restaurant_id": e.A.R.ID, "at": time.Now().Add(time.Hour).Format(time.RFC3339)}, http.StatusUnprocessableEntity, "at"},
		{map[string]any{"restaurant_id": e.A.R.ID, "at": before.Add(-time.Hour).Format(time.RFC3339)}, http.StatusUnprocessableEntity, "at"},
		{map[string]any{"restaurant_id": e.B.R.ID, "at": moment.Format(time.RFC3339)}, http.StatusUnprocessableEntity, "at"},
		{map[string]any{"restaurant_id": e.A.R.ID, "at": "yesterday"}, http.StatusBadRequest, "at"},
		{map[string]any{"restaurant_id": e.A.R.ID}, http.StatusBadRequest, "at"},
		{map[string]any{"restaurant_id": "nope", "at": moment.Format(time.RFC3339)}, http.StatusBadRequest, "restaurant_id"},
		{map[string]any{"restaurant_id": e.A.R.ID, "at": moment.Format(time.RFC3339), "replace": true, "new_name": "x"}, http.StatusBadRequest, "new_name"},
	} {
		r := e.do("POST", "/admin/tenant_backup/restore_point_in_time", op, tc.body)
		if r.Status != tc.status {
			t.Errorf("%v: %d %s, want %d", tc.body, r.Status, r.Body, tc.status)
			continue
		}
		if f, _ := r.json(t)["error"].(map[string]any)["field"].(string); f != tc.field {
			t.Errorf("%v: field %q, want %q (%s)", tc.body, f, tc.field, r.Body)
		}
	}
	bad := url.Values{"restaurant_id": {e.A.R.ID}, "from": {"noon"}, "to": {after.Format(time.RFC3339)}}
	if r := e.do("GET", "/admin/tenant_backup/diff?"+bad.Encode(), op, nil); r.Status != http.StatusBadRequest {
		t.Errorf("diff with a malformed from: %d %s", r.Status, r.Body)
	}
}
