package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// TestServeFlushesEventsOnShutdown: with a writer that would wait an hour
// for a batch, the tenant's request events are still all in the database
// once serve has shut down.
func TestServeFlushesEventsOnShutdown(t *testing.T) {
	parallel(t)
	args := append(migratedDBArgs(t), "--admin-email", "root@example.com", "--admin-password", "configured password",
		"--demo-on-empty=false", "--event-flush-interval", "1h", "--event-batch-size", "100000", "--event-buffer-size", "100000")
	url := args[1]
	srv := startServe(t, args)
	status, body := srv.login(t, "root@example.com", "configured password")
	if status != http.StatusOK {
		t.Fatalf("login: %d %s", status, body)
	}
	var login struct{ JWT string }
	_ = json.Unmarshal([]byte(body), &login)
	call := func(method, path, rid string, payload any) (int, map[string]any) {
		b, _ := json.Marshal(payload)
		req, _ := http.NewRequest(method, srv.base+path, bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+login.JWT)
		req.Header.Set("Content-Type", "application/json")
		if rid != "" {
			req.Header.Set("X-Restaurant-ID", rid)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	code, created := call("POST", "/api/v1/restaurants", "", map[string]any{"name": "Flush Grill"})
	if code != http.StatusCreated && code != http.StatusOK {
		t.Fatalf("create restaurant: %d %v", code, created)
	}
	r, _ := created["restaurant"].(map[string]any)
	rid, _ := r["id"].(string)
	if rid == "" {
		t.Fatalf("no restaurant id in %v", created)
	}
	const requests = 25
	for i := 0; i < requests; i++ {
		if code, _ := call("GET", "/api/v1/restaurants/"+rid, rid, nil); code != http.StatusOK {
			t.Fatalf("tenant request: %d", code)
		}
	}
	db, err := store.Open(context.Background(), url, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	count := func() int {
		page, err := db.Events(tenancy.WithTenant(context.Background(), rid), store.EventFilter{Type: "api_request"}, 1000)
		if err != nil {
			t.Fatal(err)
		}
		list, n := page.Events, page.Total
		if n != len(list) {
			t.Fatalf("listing total %d, but %d rows", n, len(list))
		}
		return n
	}
	if n := count(); n != 0 {
		t.Fatalf("%d events written before shutdown; the batch should still be filling", n)
	}
	srv.stop(t)
	if n := count(); n != requests {
		t.Errorf("%d api_request events after shutdown, want %d", n, requests)
	}
}

// TestEventsCommands prunes old events and rebuilds rollups from the command
// line against the configured database.
func TestEventsCommands(t *testing.T) {
	parallel(t)
	args := migratedDBArgs(t)
	if code, _, errOut := run(t, append([]string{"migrate"}, args...)...); code != 0 {
		t.Fatalf("migrate: %s", errOut)
	}
	db, err := store.Open(context.Background(), args[1], store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	r, err := db.CreateRestaurant(ctx, "Old Events", "OE")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	if err := db.InsertEvents(ctx, []store.TenantEvent{
		{RestaurantID: r.ID, Type: "api_request", Data: []byte(`{"duration_ms":5,"status":200}`), CreatedAt: now.AddDate(0, 0, -40)},
		{RestaurantID: r.ID, Type: "api_request", Data: []byte(`{"duration_ms":7,"status":500}`), CreatedAt: now.Add(-time.Hour)},
	}); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := run(t, append([]string{"events", "prune", "--event-retention", "720h"}, args...)...)
	if code != 0 || !strings.Contains(out, "pruned 1 events") {
		t.Fatalf("prune: %d %q %q", code, out, errOut)
	}
	if code, out, errOut := run(t, append([]string{"events", "rebuild-rollups", r.ID}, args...)...); code != 0 || !strings.Contains(out, r.ID) {
		t.Fatalf("rebuild-rollups: %d %q %q", code, out, errOut)
	}
	st, err := db.EventStats(tenancy.WithTenant(ctx, r.ID), now.AddDate(0, 0, -60), now.Add(time.Minute))
	if err != nil || st.Counts["api_request"] != 2 || st.ServerErrors != 1 || st.DurationMSSum != 12 {
		t.Errorf("usage after prune and rebuild: %+v %v, want both requests still counted", st, err)
	}
	if code, _, _ := run(t, append([]string{"events", "rebuild-rollups", store.NewID()}, args...)...); code == 0 {
		t.Error("rebuild-rollups of an unknown restaurant succeeded")
	}
}

func TestServeRefusesABatchLargerThanTheBuffer(t *testing.T) {
	parallel(t)
	code, _, errOut := run(t, "serve", "--data-dir", t.TempDir(), "--event-buffer-size", "100", "--event-batch-size", "101")
	if code == 0 || !strings.Contains(errOut, "event-batch-size") {
		t.Errorf("serve with a batch larger than the buffer: exit %d, %q", code, errOut)
	}
}
