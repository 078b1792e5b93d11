package cli_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/menu"
	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// TestKilledServePointInTimeRestoreIsRunAgain: kill -9 of `serve` while a
// point-in-time restore job writes its base's rows: nothing of the restore
// is left (one transaction), and once `serve` runs again the job is run
// again and completes, with the changes made after the base replayed.
func TestKilledServePointInTimeRestoreIsRunAgain(t *testing.T) {
	if os.Getenv(serveChildEnv) != "" {
		t.Skip("child process")
	}
	ctx := context.Background()
	const lease = 2 * time.Second
	args := append(dbArgs(t), "--admin-email", "root@example.com", "--admin-password", "configured password",
		"--backup-dir", t.TempDir(), "--job-lease", lease.String(), "--backup-schedule=false", "--demo-on-empty=false")
	url := args[1]
	if code, _, errOut := run(t, append([]string{"migrate"}, args...)...); code != 0 {
		t.Fatalf("migrate: %s", errOut)
	}
	db, err := store.Open(ctx, url, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	r, err := db.CreateRestaurant(ctx, "Killed Restore", "KR")
	if err != nil {
		t.Fatal(err)
	}
	const events = 60000
	batch := make([]store.TenantEvent, 0, 2000)
	for i := range events {
		batch = append(batch, store.TenantEvent{RestaurantID: r.ID, Type: "api_request", Data: json.RawMessage(fmt.Sprintf(`{"seq":%d,"path":"/api/v1/orders"}`, i))})
		if len(batch) == cap(batch) {
			if err := db.InsertEvents(ctx, batch); err != nil {
				t.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	code, _, errOut := run(t, append([]string{"backup", "tenant", r.ID}, args...)...)
	if code != 0 {
		t.Fatalf("backup: %s", errOut)
	}
	// Changes after the backup, which the restore replays.
	time.Sleep(1100 * time.Millisecond)
	tctx := tenancy.WithTenant(ctx, r.ID)
	cat, err := store.Create(tctx, db, store.MenuCategories, menu.Category{CategoryFields: menu.CategoryFields{Name: "After the backup"}})
	if err != nil {
		t.Fatal(err)
	}
	const items = 40
	for i := range items {
		if _, err := store.Create(tctx, db, store.MenuItems, menu.Item{ItemFields: menu.ItemFields{CategoryID: cat.ID, Name: fmt.Sprintf("Dish %d", i), PriceCents: 900, Available: true}}); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(10 * time.Millisecond)
	at := time.Now().UTC()

	// The first serve, in a process of its own.
	cmd := exec.Command(os.Args[0], "-test.run=^TestServeChild$")
	cmd.Env = append(os.Environ(), serveChildEnv+"="+strings.Join(append([]string{"serve", "--listen-addr", "127.0.0.1:0"}, args...), "\n"))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	base := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				base <- m[1]
			}
		}
	}()
	var first string
	select {
	case first = <-base:
	case <-time.After(60 * time.Second):
		t.Fatalf("serve did not start: %s", stderr.String())
	}
	var login struct {
		JWT string `json:"jwt"`
	}
	if status := api(t, "POST", first+"/login", "", map[string]string{"email": "root@example.com", "password": "configured password"}, &login); status != 200 {
		t.Fatalf("login: %d", status)
	}
	var queued struct {
		JobID string `json:"job_id"`
	}
	if status := api(t, "POST", first+"/admin/tenant_backup/restore_point_in_time", login.JWT,
		map[string]string{"restaurant_id": r.ID, "at": at.Format(time.RFC3339Nano), "new_name": "Restored after a kill"}, &queued); status != http.StatusAccepted {
		t.Fatalf("restore_point_in_time: %d", status)
	}
	// Kill it while the import writes tenant_events.
	deadline := time.Now().Add(90 * time.Second)
	var js jobStatus
	for {
		js = jobStatus{}
		api(t, "GET", first+"/admin/tenant_backup/backup_status/"+queued.JobID, login.JWT, nil, &js)
		if js.Status == "running" && strings.HasPrefix(js.Message, "importing tenant_events: ") && !strings.HasPrefix(js.Message, "importing tenant_events: 0 of") {
			break
		}
		if js.Status == "complete" || js.Status == "failed" || time.Now().After(deadline) {
			t.Fatalf("the import was not caught in the middle of tenant_events: %+v", js)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	killedAt := time.Now()
	t.Logf("killed serve at %d%%: %s", js.Progress, js.Message)
	if rec, _ := db.Job(ctx, queued.JobID); rec.Status != "running" {
		t.Fatalf("after the kill the job is %+v", rec)
	}
	// Nothing half-written: the restore's transaction died with serve.
	if list, err := db.Restaurants(ctx); err == nil {
		for _, x := range list {
			if x.Name == "Restored after a kill" {
				t.Fatalf("a restaurant of the killed restore is there: %s", x.ID)
			}
		}
	}

	// serve again, in this process; the job must not stay "running".
	stop := watchJob(db, queued.JobID)
	again := startServe(t, args)
	var rec store.JobRecord
	for {
		rec, err = db.Job(ctx, queued.JobID)
		if err != nil {
			t.Fatal(err)
		}
		if rec.Status == "complete" || rec.Status == "failed" {
			break
		}
		if time.Since(killedAt) > 2*time.Minute {
			t.Fatalf("2 minutes after the kill the job is still %+v", rec)
		}
		time.Sleep(50 * time.Millisecond)
	}
	took := time.Since(killedAt)
	seen := stop()
	interrupted := false
	for _, s := range seen {
		if strings.HasPrefix(s, "queued: interrupted at ") && strings.Contains(s, "the instance working it stopped; queued again") {
			interrupted = true
		}
	}
	if !interrupted {
		// The "queued: interrupted" record can last less than the watcher's
		// poll when an instance picks the job up at once; the queue then
		// holds a second River job for the record, which only the
		// interruption makes.
		var queuedAgain int
		if err := db.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM river_job WHERE CAST(args AS TEXT) LIKE $1`,
			"%"+queued.JobID+"%").Scan(&queuedAgain); err != nil {
			t.Fatal(err)
		}
		if queuedAgain < 2 {
			t.Errorf("the job was never shown as interrupted nor queued again (%d River jobs): %q", queuedAgain, seen)
		}
	}
	if rec.Status != "complete" {
		t.Fatalf("the job after the restart: %+v", rec)
	}
	t.Logf("the job was run again and completed %v after the kill (lease %v): %q", took.Round(time.Millisecond), lease, seen)
	js = jobStatus{}
	if status := api(t, "GET", again.base+"/admin/tenant_backup/backup_status/"+queued.JobID, mustLogin(t, again), nil, &js); status != 200 {
		t.Fatalf("status after the restart: %d", status)
	}
	if js.Result.Rows["tenant_events"] != events {
		t.Errorf("the restored restaurant has %v rows", js.Result.Rows)
	}
	var n int
	var restored string
	list, err := db.Restaurants(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range list {
		if x.Name == "Restored after a kill" {
			n++
			restored = x.ID
		}
	}
	if n != 1 {
		t.Errorf("%d restaurants restored", n)
	}
	var dishes int
	if err := db.SQL().QueryRowContext(ctx, `SELECT count(*) FROM menu_items WHERE restaurant_id = $1`, restored).Scan(&dishes); err != nil {
		t.Fatal(err)
	}
	if dishes != items {
		t.Errorf("the restored restaurant has %d of the %d dishes made after its backup", dishes, items)
	}
}
