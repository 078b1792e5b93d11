package cli_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/cli"
	"github.com/shimizu-tech/ordersuite/internal/faultproxy"
	"github.com/shimizu-tech/ordersuite/internal/menu"
	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/storetest"
	"github.com/shimizu-tech/ordersuite/internal/syncbuf"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// serveChildEnv makes TestServeChild run `serve` with the arguments it
// holds (one per line), in a process of its own that the parent can kill.
const serveChildEnv = "ORDERSUITE_SERVE_CHILD"

func TestServeChild(t *testing.T) {
	parallel(t)
	spec := os.Getenv(serveChildEnv)
	if spec == "" {
		t.Skip("runs only as a child of the kill tests or TestThreeInstances")
	}
	os.Exit(cli.Execute(context.Background(), strings.Split(spec, "\n"), os.Stdout, os.Stderr))
}

// api calls the served API with a bearer token and decodes the answer.
func api(t *testing.T, method, url, token string, body any, out any) int {
	t.Helper()
	var rd bytes.Buffer
	if body != nil {
		json.NewEncoder(&rd).Encode(body)
	}
	req, _ := http.NewRequest(method, url, &rd)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode
}

type jobStatus struct {
	Status   string `json:"status"`
	Progress int    `json:"progress"`
	Message  string `json:"message"`
	Result   struct {
		RestaurantID string           `json:"restaurant_id"`
		Rows         map[string]int64 `json:"rows"`
	} `json:"result"`
}

// restoredAfterKill names the restaurant the killed jobs restore into.
const restoredAfterKill = "Restored after a kill"

// killedJob is what a kill test sets up around the common scaffold.
type killedJob struct {
	name, prefix string // the restaurant backed up
	events       int    // its tenant_events rows: the import is caught among them
	// afterBackup runs between the backup and the first serve.
	afterBackup func(t *testing.T, db *store.DB, rid string)
	// queue asks the first serve for the job and returns the job's id.
	queue func(t *testing.T, base, jwt, rid, backupID string) string
}

// runKilledJob is the scaffold of the kill -9 tests: a restaurant with
// k.events events, backed up; a first serve, in a process of its own,
// starts the job k.queue asks for and is killed while the job writes
// tenant_events; nothing of the job's restaurant is left; serve runs again
// in this process, and the job must be recorded as interrupted, queued
// again and completed, with every event restored into exactly one
// restaurant. It returns the database and that restaurant's id.
func runKilledJob(t *testing.T, k killedJob) (*store.DB, string) {
	t.Helper()
	ctx := context.Background()
	// One instance at a time works the job, so a short lease cannot take
	// a live job for dead; the restart finds the killed one sooner.
	const lease = time.Second
	url, opts := storetest.NewMigratedDatabase(t) // serve and the commands need no migrate step of their own
	args := []string{"--database-url", url, "--data-dir", t.TempDir(),
		"--jwt-secret", "cli-test-secret-cli-test-secret-0123456789", "--log-level", "error",
		"--admin-email", "root@example.com", "--admin-password", "configured password",
		"--backup-dir", t.TempDir(), "--job-lease", lease.String(), "--backup-schedule=false", "--demo-on-empty=false"}
	db, err := store.Open(ctx, url, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	r, err := db.CreateRestaurant(ctx, k.name, k.prefix)
	if err != nil {
		t.Fatal(err)
	}
	// On PostgreSQL the first serve reaches the server through a throttled
	// link, so a tenth of the events keep its import long enough to be
	// caught in the middle: the rows, imported twice, were most of the
	// server's work in these tests.
	firstArgs := slices.Clone(args)
	if storetest.URL() != "" {
		p, proxied := faultproxy.ForDatabaseURL(t, url)
		p.Throttle(256 << 10)
		firstArgs[slices.Index(firstArgs, "--database-url")+1] = proxied
		k.events /= 10
	}
	batch := make([]store.TenantEvent, 0, 2000)
	for i := range k.events {
		batch = append(batch, store.TenantEvent{RestaurantID: r.ID, Type: "api_request", Data: json.RawMessage(fmt.Sprintf(`{"seq":%d,"path":"/api/v1/orders"}`, i))})
		if len(batch) == cap(batch) || i == k.events-1 {
			if err := db.InsertEvents(ctx, batch); err != nil {
				t.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	code, out, errOut := run(t, append([]string{"backup", "tenant", r.ID}, args...)...)
	if code != 0 {
		t.Fatalf("backup: %s", errOut)
	}
	backupID := strings.Fields(out)[0]
	if k.afterBackup != nil {
		k.afterBackup(t, db, r.ID)
	}

	// The first serve, in a process of its own.
	cmd := exec.Command(os.Args[0], "-test.run=^TestServeChild$")
	cmd.Env = append(os.Environ(), serveChildEnv+"="+strings.Join(append([]string{"serve", "--listen-addr", "127.0.0.1:0"}, firstArgs...), "\n"))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr syncbuf.Buffer
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
	jobID := k.queue(t, first, login.JWT, r.ID, backupID)
	// Kill it while the import writes tenant_events: once rows are counted,
	// or half a second into the table (through the throttled link the rows
	// are counted as they are handed to the driver, all at once, then take
	// seconds to reach the server).
	deadline := time.Now().Add(90 * time.Second)
	var js jobStatus
	var onEvents time.Time // when the import was first seen at tenant_events
	for {
		js = jobStatus{}
		api(t, "GET", first+"/admin/tenant_backup/backup_status/"+jobID, login.JWT, nil, &js)
		if js.Status == "running" && strings.HasPrefix(js.Message, "importing tenant_events: ") {
			if onEvents.IsZero() {
				onEvents = time.Now()
			}
			if !strings.HasPrefix(js.Message, "importing tenant_events: 0 of") || time.Since(onEvents) > 500*time.Millisecond {
				break
			}
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
	if rec, _ := db.Job(ctx, jobID); rec.Status != "running" {
		t.Fatalf("after the kill the job is %+v", rec)
	}
	// Nothing half-written: the import's transaction died with serve.
	if list, err := db.Restaurants(ctx); err == nil {
		for _, x := range list {
			if x.Name == restoredAfterKill {
				t.Fatalf("a restaurant of the killed job is there: %s", x.ID)
			}
		}
	}

	// serve again, in this process; the job must not stay "running".
	stop := watchJob(db, jobID)
	again := startServe(t, args)
	var rec store.JobRecord
	for {
		rec, err = db.Job(ctx, jobID)
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
			"%"+jobID+"%").Scan(&queuedAgain); err != nil {
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
	if status := api(t, "GET", again.base+"/admin/tenant_backup/backup_status/"+jobID, mustLogin(t, again), nil, &js); status != 200 {
		t.Fatalf("status after the restart: %d", status)
	}
	if js.Result.Rows["tenant_events"] != int64(k.events) {
		t.Errorf("the restored restaurant has %v rows", js.Result.Rows)
	}
	var n int
	var restored string
	list, err := db.Restaurants(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range list {
		if x.Name == restoredAfterKill {
			n++
			restored = x.ID
		}
	}
	if n != 1 {
		t.Errorf("%d restaurants restored", n)
	}
	return db, restored
}

// TestKilledServeImportIsRunAgain: kill -9 of `serve` while an import job
// writes its rows; once `serve` runs again, the job is recorded as
// interrupted within the job lease and run again to completion, and the
// restored restaurant exists once, complete.
func TestKilledServeImportIsRunAgain(t *testing.T) {
	parallel(t)
	if os.Getenv(serveChildEnv) != "" {
		t.Skip("child process")
	}
	runKilledJob(t, killedJob{name: "Killed Import", prefix: "KI", events: storetest.Scaled(64000),
		queue: func(t *testing.T, base, jwt, _, backupID string) string {
			var queued struct {
				JobID string `json:"job_id"`
			}
			if status := api(t, "POST", base+"/admin/tenant_backup/import_tenant", jwt,
				map[string]string{"backup_id": backupID, "new_restaurant_name": restoredAfterKill}, &queued); status != http.StatusAccepted {
				t.Fatalf("import_tenant: %d", status)
			}
			return queued.JobID
		}})
}

// TestKilledServePointInTimeRestoreIsRunAgain: kill -9 of `serve` while a
// point-in-time restore job writes its base's rows: nothing of the restore
// is left (one transaction), and once `serve` runs again the job is run
// again and completes, with the changes made after the base replayed.
func TestKilledServePointInTimeRestoreIsRunAgain(t *testing.T) {
	parallel(t)
	if os.Getenv(serveChildEnv) != "" {
		t.Skip("child process")
	}
	const items = 40
	var at time.Time
	db, restored := runKilledJob(t, killedJob{name: "Killed Restore", prefix: "KR", events: 60000,
		afterBackup: func(t *testing.T, db *store.DB, rid string) {
			// Changes after the backup, which the restore replays.
			time.Sleep(1100 * time.Millisecond)
			tctx := tenancy.WithTenant(context.Background(), rid)
			cat, err := store.Create(tctx, db, store.MenuCategories, menu.Category{CategoryFields: menu.CategoryFields{Name: "After the backup"}})
			if err != nil {
				t.Fatal(err)
			}
			for i := range items {
				if _, err := store.Create(tctx, db, store.MenuItems, menu.Item{ItemFields: menu.ItemFields{CategoryID: cat.ID, Name: fmt.Sprintf("Dish %d", i), PriceCents: 900, Available: true}}); err != nil {
					t.Fatal(err)
				}
			}
			time.Sleep(10 * time.Millisecond)
			at = time.Now().UTC()
		},
		queue: func(t *testing.T, base, jwt, rid, _ string) string {
			var queued struct {
				JobID string `json:"job_id"`
			}
			if status := api(t, "POST", base+"/admin/tenant_backup/restore_point_in_time", jwt,
				map[string]string{"restaurant_id": rid, "at": at.Format(time.RFC3339Nano), "new_name": restoredAfterKill}, &queued); status != http.StatusAccepted {
				t.Fatalf("restore_point_in_time: %d", status)
			}
			return queued.JobID
		}})
	var dishes int
	if err := db.SQL().QueryRowContext(context.Background(), `SELECT count(*) FROM menu_items WHERE restaurant_id = $1`, restored).Scan(&dishes); err != nil {
		t.Fatal(err)
	}
	if dishes != items {
		t.Errorf("the restored restaurant has %d of the %d dishes made after its backup", dishes, items)
	}
}

func mustLogin(t *testing.T, s *servedCLI) string {
	t.Helper()
	status, body := s.login(t, "root@example.com", "configured password")
	if status != 200 {
		t.Fatalf("login: %d %s", status, body)
	}
	var l struct {
		JWT string `json:"jwt"`
	}
	json.Unmarshal([]byte(body), &l)
	return l.JWT
}

// watchJob records each distinct status and message of a job until stop.
func watchJob(db *store.DB, id string) (stop func() []string) {
	var seen []string
	quit, ended := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(ended)
		for {
			if j, err := db.Job(context.Background(), id); err == nil {
				if s := j.Status + ": " + j.Message; len(seen) == 0 || seen[len(seen)-1] != s {
					seen = append(seen, s)
				}
			}
			select {
			case <-quit:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	return func() []string { close(quit); <-ended; return seen }
}
