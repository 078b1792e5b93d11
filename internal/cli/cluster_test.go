package cli_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/storetest"
	"github.com/shimizu-tech/ordersuite/internal/syncbuf"
)

// instance is one serve process of the cluster.
type instance struct {
	cmd  *exec.Cmd
	base string
	done chan error
	errs *syncbuf.Buffer
}

var listeningLine = regexp.MustCompile(`listening on (http://\S+)`)

func startInstance(t *testing.T, args []string) *instance {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestServeChild$", "-test.count=1") // a serve process of its own (jobkill_test.go)
	cmd.Env = append(os.Environ(), serveChildEnv+"="+strings.Join(args, "\n"))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	in := &instance{cmd: cmd, done: make(chan error, 1), errs: &syncbuf.Buffer{}}
	cmd.Stderr = in.errs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := listeningLine.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
	}()
	go func() { in.done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-in.done:
			case <-time.After(20 * time.Second):
				cmd.Process.Kill()
			}
		}
	})
	select {
	case in.base = <-found:
		return in
	case err := <-in.done:
		t.Fatalf("instance exited at start: %v\n%s", err, in.errs.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("instance did not start:\n%s", in.errs.String())
	}
	return nil
}

// stop ends the instance with SIGTERM, so it writes its buffered events.
func (in *instance) stop(t *testing.T) {
	t.Helper()
	in.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-in.done:
		if err != nil {
			t.Errorf("instance %s exited with %v:\n%s", in.base, err, in.errs.String())
		}
	case <-time.After(30 * time.Second):
		t.Errorf("instance %s did not stop", in.base)
	}
}

// cluster is three instances and the client that drives them. The client
// counts every API request it sends, per instance, to compare with the
// instances' own figures.
type cluster struct {
	t      *testing.T
	db     *store.DB
	nodes  []*instance
	client *http.Client
	sent   [3]atomic.Int64
}

type answer struct {
	status int
	body   []byte
	header http.Header
}

func (c *cluster) call(node int, method, path, token string, body any, header ...string) (answer, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.nodes[node].base+path, rd)
	if err != nil {
		return answer{}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	c.sent[node].Add(1)
	resp, err := c.client.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, body: b, header: resp.Header}, err
}

// must is call for set-up steps: any error or unexpected status fails.
func (c *cluster) must(node int, want int, method, path, token string, body any, header ...string) map[string]any {
	c.t.Helper()
	a, err := c.call(node, method, path, token, body, header...)
	if err != nil || a.status != want {
		c.t.Fatalf("%s %s on instance %d: %d %v %s", method, path, node, a.status, err, a.body)
	}
	var m map[string]any
	json.Unmarshal(a.body, &m)
	return m
}

func (c *cluster) login(node int, email, password string) string {
	c.t.Helper()
	m := c.must(node, 200, "POST", "/login", "", map[string]string{"email": email, "password": password})
	return m["jwt"].(string)
}

// metric sums a counter over the three instances (those given), for the
// series whose labels contain every label given.
func (c *cluster) metric(name string, nodes []int, labels ...string) float64 {
	c.t.Helper()
	var sum float64
	for _, n := range nodes {
		resp, err := c.client.Get(c.nodes[n].base + "/metrics")
		if err != nil {
			c.t.Fatal(err)
		}
		p := expfmt.NewTextParser(model.UTF8Validation)
		fams, err := p.TextToMetricFamilies(resp.Body)
		resp.Body.Close()
		if err != nil {
			c.t.Fatal(err)
		}
		f, ok := fams[name]
		if !ok {
			continue
		}
	series:
		for _, m := range f.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				var match bool
				for _, lp := range m.GetLabel() {
					if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
						match = true
					}
				}
				if !match {
					continue series
				}
			}
			if m.GetCounter() != nil {
				sum += m.GetCounter().GetValue()
			} else if m.GetGauge() != nil {
				sum += m.GetGauge().GetValue()
			}
		}
	}
	return sum
}

func (c *cluster) count(query string, args ...any) int {
	c.t.Helper()
	var n int
	if err := c.db.SQL().QueryRowContext(context.Background(), query, args...).Scan(&n); err != nil {
		c.t.Fatal(err)
	}
	return n
}

// within polls check on the given instances until it holds on all of them
// and returns how long that took; it fails the test after limit.
func within(t *testing.T, limit time.Duration, what string, check func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !check() {
		if time.Since(start) > limit {
			t.Fatalf("%s: not seen within %v", what, limit)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(start)
}

type tenantFixture struct {
	id, admin, item string
}

// TestThreeInstances runs three serve processes on one PostgreSQL database
// and drives mixed traffic through them round-robin: orders stay unique and
// gap-free, changes made on one instance are in force on the others within a
// second, the console works across instances, scheduled jobs run once, the
// instances' counters add up to the traffic and the events stored, and an
// instance killed mid-traffic loses only its buffered events.
func TestThreeInstances(t *testing.T) {
	parallel(t)
	if storetest.URL() == "" {
		t.Skip("several instances share a PostgreSQL database; SQLite is one process")
	}
	if testing.Short() {
		t.Skip("starts three servers")
	}
	ctx := context.Background()
	dbURL, db := storetest.OpenWithURL(t)
	const (
		superEmail = "root@cluster.test"
		superPass  = "cluster root password"
		bufferSize = 2000
		batchSize  = 500
	)
	shared := t.TempDir()
	c := &cluster{t: t, db: db, client: &http.Client{Timeout: 30 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
	for i := range 3 {
		c.nodes = append(c.nodes, startInstance(t, []string{"serve",
			"--database-url", dbURL, "--listen-addr", "127.0.0.1:0", "--data-dir", t.TempDir(),
			"--backup-dir", shared, "--jwt-secret", "cluster-secret-cluster-secret-0123456789",
			"--admin-email", superEmail, "--admin-password", superPass, "--log-level", "error",
			"--event-flush-interval", "50ms", "--event-buffer-size", strconv.Itoa(bufferSize),
			"--event-batch-size", strconv.Itoa(batchSize),
			"--backup-cron", "*/5 * * * * *", "--backup-cleanup-cron", "0 0 1 1 *", "--backup-validate-cron", "0 0 1 1 *",
			"--shutdown-timeout", "10s"}))
		if i == 0 {
			c.login(0, superEmail, superPass) // the operator exists before the next instance starts
		}
	}
	super := c.login(0, superEmail, superPass)

	// Four restaurants: three take orders, the fourth is suspended mid-test.
	var tenants []tenantFixture
	for i := range 4 {
		r := c.must(i%3, 201, "POST", "/api/v1/restaurants", super, map[string]any{"name": fmt.Sprintf("Cluster %d", i), "prefix": fmt.Sprintf("CL%d", i)})
		rid := r["restaurant"].(map[string]any)["id"].(string)
		email := fmt.Sprintf("admin%d@cluster.test", i)
		c.must((i+1)%3, 201, "POST", "/api/v1/users", super, map[string]any{"email": email, "role": "admin", "password": "an admin password"}, "X-Restaurant-ID", rid)
		admin := c.login((i+2)%3, email, "an admin password")
		cat := c.must(i%3, 201, "POST", "/api/v1/menu_categories", admin, map[string]any{"name": "Mains"})
		catID := cat["menu_category"].(map[string]any)["id"].(string)
		item := c.must((i+1)%3, 201, "POST", "/api/v1/menu_items", admin, map[string]any{"category_id": catID, "name": "Ramen", "price_cents": 1200})
		tenants = append(tenants, tenantFixture{id: rid, admin: admin, item: item["menu_item"].(map[string]any)["id"].(string)})
	}
	// The scheduled backup runs every five seconds from the start, some
	// runs before all four restaurants were there: its check counts from
	// here.
	inFlight := func() int {
		return c.count("SELECT count(*) FROM river_job WHERE kind LIKE 'backup.%' AND state NOT IN ('completed', 'discarded', 'cancelled')")
	}
	completed := func() int {
		return c.count("SELECT count(*) FROM river_job WHERE kind = 'backup.all' AND state = 'completed'")
	}
	// backupsNow reads, between two runs (the next tick may start one at
	// any moment), the runs completed and each restaurant's backups.
	backupsNow := func(t *testing.T) (runs int, backups []int) {
		t.Helper()
		within(t, time.Minute, "the backups counted between two runs", func() bool {
			if inFlight() != 0 {
				return false
			}
			runs = completed()
			entries, _ := os.ReadDir(shared)
			backups = make([]int, len(tenants))
			for i, tn := range tenants {
				for _, e := range entries {
					if strings.HasPrefix(e.Name(), "tenant_export_"+tn.id) && strings.HasSuffix(e.Name(), ".zip") {
						backups[i]++
					}
				}
			}
			return inFlight() == 0 && completed() == runs
		})
		return runs, backups
	}
	runsBefore, backupsBefore := backupsNow(t)
	all := []int{0, 1, 2}
	c.waitQuiet(all)
	requestsBefore := c.metric("http_requests_total", all) - c.metric("http_requests_total", all, "route", "/metrics")
	sentBefore := c.sentTotal()

	// Mixed traffic on the first three restaurants, round-robin over the
	// instances, while the checks below change state on one instance and
	// look for it on the others: nine clients, each sending a request every
	// 5 ms (unpaced, they took all the CPU the machine had, slowing the
	// checks they are the background of).
	var orders [3]atomic.Int64
	var failures sync.Map
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 9 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tn := tenants[w%3]
			tick := time.NewTicker(5 * time.Millisecond)
			defer tick.Stop()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				node := (w + i) % 3
				var a answer
				var err error
				switch i % 3 {
				case 0:
					a, err = c.call(node, "POST", "/api/v1/orders", tn.admin, map[string]any{"order_type": "takeout",
						"items": []any{map[string]any{"menu_item_id": tn.item, "quantity": 1 + i%4}}})
					if err == nil && a.status == 201 {
						orders[w%3].Add(1)
					}
				case 1:
					a, err = c.call(node, "GET", "/api/v1/me", tn.admin, nil)
				case 2:
					a, err = c.call(node, "GET", "/api/v1/feature_flags/evaluate?entity_id=u"+strconv.Itoa(i), tn.admin, nil)
				}
				if err != nil || a.status >= 300 {
					failures.Store(fmt.Sprintf("worker %d request %d on %d: %d %v %s", w, i, node, a.status, err, a.body), true)
				}
			}
		}()
	}

	t.Run("a flag change is in force on every instance within 1s", func(t *testing.T) {
		tn := tenants[0]
		for try := range 5 {
			key := fmt.Sprintf("cluster_flag_%d", try)
			on := 1 + try%2
			c.must(try%3, 201, "POST", "/admin/feature_flags", super, map[string]any{"key": key, "enabled": true}, "X-Restaurant-ID", tn.id)
			took := within(t, time.Second, "flag created on "+strconv.Itoa(try%3), func() bool {
				for _, n := range []int{on % 3, (on + 1) % 3} {
					a, err := c.call(n, "GET", "/api/v1/feature_flags/evaluate?keys="+key, tn.admin, nil)
					if err != nil || !bytes.Contains(a.body, []byte(`"enabled":true`)) {
						return false
					}
				}
				return true
			})
			t.Logf("flag %s seen on the other instances after %v", key, took)
		}
	})

	t.Run("a revoked token is refused on every instance within 1s", func(t *testing.T) {
		tn := tenants[1]
		var max time.Duration
		for try := range 5 {
			email := fmt.Sprintf("staff%d@cluster.test", try)
			u := c.must(try%3, 201, "POST", "/api/v1/users", tn.admin, map[string]any{"email": email, "role": "staff", "password": "a staff password"})
			uid := u["user"].(map[string]any)["id"].(string)
			tok := c.login((try+1)%3, email, "a staff password")
			c.must((try+2)%3, 200, "GET", "/api/v1/me", tok, nil)
			c.must(try%3, 200, "POST", "/api/v1/users/"+uid+"/revoke_tokens", tn.admin, map[string]any{})
			took := within(t, time.Second, "revocation", func() bool {
				for _, n := range all {
					if a, err := c.call(n, "GET", "/api/v1/me", tok, nil); err != nil || a.status != 401 {
						return false
					}
				}
				return true
			})
			max = maxDuration(max, took)
		}
		t.Logf("revocations in force everywhere after at most %v", max)
	})

	t.Run("a revoked SDK key is refused on every instance within 1s", func(t *testing.T) {
		tn := tenants[1]
		var max time.Duration
		for try := range 5 {
			created := c.must(try%3, 201, "POST", "/admin/sdk_keys", tn.admin, map[string]any{"name": fmt.Sprintf("shop %d", try)})
			key := created["key"].(string)
			id := created["sdk_key"].(map[string]any)["id"].(string)
			for _, n := range all {
				c.must(n, 200, "GET", "/api/v1/feature_flags/evaluate", key, nil)
			}
			c.must((try+1)%3, 200, "DELETE", "/admin/sdk_keys/"+id, tn.admin, nil)
			took := within(t, time.Second, "key revocation", func() bool {
				for _, n := range all {
					if a, err := c.call(n, "GET", "/api/v1/feature_flags/evaluate", key, nil); err != nil || a.status != 401 {
						return false
					}
				}
				return true
			})
			max = maxDuration(max, took)
		}
		t.Logf("SDK key revocations in force everywhere after at most %v", max)
	})

	t.Run("a suspension is in force on every instance within 1s", func(t *testing.T) {
		tn := tenants[3]
		c.must(0, 200, "GET", "/api/v1/me", tn.admin, nil)
		c.must(1, 200, "POST", "/admin/restaurants/"+tn.id+"/status", super, map[string]any{"status": "suspended"})
		took := within(t, time.Second, "suspension", func() bool {
			for _, n := range all {
				if a, err := c.call(n, "GET", "/api/v1/me", tn.admin, nil); err != nil || a.status < 400 {
					return false
				}
			}
			return true
		})
		t.Logf("suspension in force everywhere after %v", took)
		c.must(2, 200, "POST", "/admin/restaurants/"+tn.id+"/status", super, map[string]any{"status": "active"})
	})

	t.Run("the console works when each request hits another instance", func(t *testing.T) {
		jar, _ := cookiejar.New(nil)
		br := &http.Client{Jar: jar, Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}}
		page := func(node int, method, path string, form url.Values) (int, string) {
			var req *http.Request
			if form != nil {
				req, _ = http.NewRequest(method, c.nodes[node].base+path, strings.NewReader(form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			} else {
				req, _ = http.NewRequest(method, c.nodes[node].base+path, nil)
			}
			// Cookies are per host; the instances are one site behind a
			// load balancer, so the jar is keyed by the first instance.
			u0, _ := url.Parse(c.nodes[0].base)
			for _, ck := range jar.Cookies(u0) {
				req.AddCookie(ck)
			}
			c.sent[node].Add(1) // console pages are counted by http_requests_total too
			resp, err := br.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			jar.SetCookies(u0, resp.Cookies())
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(b)
		}
		csrf := regexp.MustCompile(`name="csrf" value="([^"]*)"`)
		_, body := page(0, "GET", "/console/login", nil)
		m := csrf.FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("no CSRF field on the sign-in page:\n%s", body)
		}
		if st, body := page(1, "POST", "/console/login", url.Values{"email": {superEmail}, "password": {superPass}, "csrf": {m[1]}}); st != http.StatusSeeOther {
			t.Fatalf("sign-in on another instance: %d\n%s", st, body)
		}
		tn := tenants[2]
		st, body := page(2, "GET", "/console/t/"+tn.id+"/flags", nil)
		if st != 200 {
			t.Fatalf("flags page on a third instance: %d\n%s", st, body)
		}
		m = csrf.FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("no CSRF field on the flags page:\n%s", body)
		}
		form := url.Values{"key": {"console_cluster"}, "scope": {"tenant"}, "enabled": {"on"}, "csrf": {m[1]}}
		if st, body := page(0, "POST", "/console/t/"+tn.id+"/flags", form); st != http.StatusSeeOther {
			t.Fatalf("form posted to the first instance: %d\n%s", st, body)
		}
		// Another instance hears of the change within a second.
		within(t, time.Second, "flag made in the console, read on another instance", func() bool {
			a, err := c.call(1, "GET", "/api/v1/feature_flags/evaluate?keys=console_cluster", tn.admin, nil)
			return err == nil && bytes.Contains(a.body, []byte(`"enabled":true`))
		})
		form.Set("csrf", "forged")
		if st, _ := page(2, "POST", "/console/t/"+tn.id+"/flags", form); st != http.StatusForbidden {
			t.Errorf("forged CSRF token on another instance: %d", st)
		}
	})

	time.Sleep(time.Second) // traffic on its own for a moment
	close(stop)
	wg.Wait()
	failures.Range(func(k, _ any) bool { t.Error(k); return true })

	t.Run("orders are unique and gap-free per restaurant", func(t *testing.T) {
		for i, tn := range tenants[:3] {
			rows, err := db.SQL().QueryContext(ctx, "SELECT number FROM orders WHERE restaurant_id = $1", tn.id)
			if err != nil {
				t.Fatal(err)
			}
			var seqs []int
			for rows.Next() {
				var n string
				rows.Scan(&n)
				// PREFIX-KIND-YYMMDDsequence
				last := n[strings.LastIndex(n, "-")+1:]
				if len(last) < 7 || !strings.HasPrefix(n, fmt.Sprintf("CL%d-", i)) {
					t.Fatalf("order number %q", n)
				}
				s, err := strconv.Atoi(last[6:])
				if err != nil {
					t.Fatalf("order number %q", n)
				}
				seqs = append(seqs, s)
			}
			rows.Close()
			sort.Ints(seqs)
			if int64(len(seqs)) != orders[i].Load() || len(seqs) == 0 {
				t.Errorf("restaurant %d: %d orders stored, %d answered 201", i, len(seqs), orders[i].Load())
			}
			for j, s := range seqs {
				if s != j+1 {
					t.Fatalf("restaurant %d: order numbers not 1..%d: %v", i, len(seqs), seqs)
				}
			}
			t.Logf("restaurant %d: %d orders through three instances", i, len(seqs))
		}
	})

	t.Run("the instances' counters add up to the traffic and to the events stored", func(t *testing.T) {
		c.waitQuiet(all)
		requests := c.metric("http_requests_total", all) - c.metric("http_requests_total", all, "route", "/metrics")
		if got, want := requests-requestsBefore, float64(c.sentTotal()-sentBefore); got != want {
			t.Errorf("http_requests_total grew by %v over three instances; %v requests were sent", got, want)
		}
		stored := c.count("SELECT count(*) FROM tenant_events")
		if written := c.metric("tenant_events_written_total", all); float64(stored) != written {
			t.Errorf("%d events stored; the instances report %v written", stored, written)
		}
		if dropped := c.metric("tenant_events_dropped_total", all); dropped != 0 {
			t.Errorf("%v events dropped", dropped)
		}
	})

	t.Run("a scheduled job runs once across the instances", func(t *testing.T) {
		// The backup runs every five seconds (a schedule with a seconds
		// field); wait for one run after now.
		next := time.Now().Truncate(5 * time.Second).Add(5 * time.Second)
		within(t, 3*time.Minute, "a scheduled backup", func() bool {
			return c.count("SELECT count(*) FROM river_job WHERE kind = 'backup.all' AND state = 'completed' AND scheduled_at >= $1", next) > 0 &&
				inFlight() == 0
		})
		dup := c.count(`SELECT count(*) FROM (SELECT scheduled_at FROM river_job WHERE kind = 'backup.all'
			GROUP BY 1 HAVING count(*) > 1) d`)
		if dup != 0 {
			t.Errorf("%d ticks had more than one backup run", dup)
		}
		runs, backups := backupsNow(t)
		runs -= runsBefore
		for i := range tenants[:3] {
			if n := backups[i] - backupsBefore[i]; n != runs {
				t.Errorf("restaurant %d: %d backups for %d scheduled runs", i, n, runs)
			}
		}
		t.Logf("%d scheduled backup runs while the restaurants were all there, one per tick", runs)
	})

	t.Run("an instance killed mid-traffic loses only its buffered events", func(t *testing.T) {
		c.waitQuiet(all)
		type mark struct{ events, dropped int }
		eventsOf := func(rid string) int {
			return c.count("SELECT count(*) FROM tenant_events WHERE restaurant_id = $1", rid)
		}
		// How many events one GET /api/v1/me leaves, measured.
		before := eventsOf(tenants[2].id)
		for range 10 {
			c.must(2, 200, "GET", "/api/v1/me", tenants[2].admin, nil)
		}
		c.waitQuiet(all)
		perRequest := (eventsOf(tenants[2].id) - before) / 10
		if perRequest < 1 {
			t.Fatalf("a request left %d events", perRequest)
		}
		start := map[int]mark{}
		for i := range 3 {
			start[i] = mark{events: eventsOf(tenants[i].id), dropped: int(c.metric("tenant_events_dropped_total", []int{i}))}
		}
		// Restaurant i's traffic goes through instance i only, so what the
		// killed instance (2) held in memory is restaurant 2's alone.
		var answered [3]atomic.Int64
		var afterKill atomic.Int64
		var killed atomic.Bool
		stop := make(chan struct{})
		// Instance 2's clients stop a moment before the kill, so that what
		// it counted as dropped (its buffer full under this load) can be
		// read from it first; its writer is still busy when it dies.
		stopTwo := make(chan struct{})
		var wg, wgTwo sync.WaitGroup
		for i := range 3 {
			for range 2 {
				wg.Add(1)
				quit := stop
				if i == 2 {
					wgTwo.Add(1)
					quit = stopTwo
				}
				go func() {
					defer wg.Done()
					if i == 2 {
						defer wgTwo.Done()
					}
					// Instance 2's clients send as fast as it answers,
					// so that it dies with events buffered; the
					// survivors' send one request every 2 ms each.
					paced := func() bool { return true }
					if i != 2 {
						tick := time.NewTicker(2 * time.Millisecond)
						defer tick.Stop()
						paced = func() bool {
							select {
							case <-quit:
								return false
							case <-tick.C:
								return true
							}
						}
					}
					for {
						select {
						case <-quit:
							return
						default:
						}
						if !paced() {
							return
						}
						wasKilled := killed.Load()
						a, err := c.call(i, "GET", "/api/v1/me", tenants[i].admin, nil)
						if i == 2 {
							if err == nil && a.status == 200 {
								answered[i].Add(1)
							}
							continue
						}
						if err != nil || a.status != 200 {
							t.Errorf("instance %d while another was killed: %d %v", i, a.status, err)
							return
						}
						answered[i].Add(1)
						if wasKilled {
							afterKill.Add(1)
						}
					}
				}()
			}
		}
		time.Sleep(1500 * time.Millisecond)
		close(stopTwo)
		wgTwo.Wait()
		dropped := int(c.metric("tenant_events_dropped_total", []int{2})) - start[2].dropped
		c.nodes[2].cmd.Process.Kill()
		<-c.nodes[2].done
		killed.Store(true)
		time.Sleep(1500 * time.Millisecond)
		close(stop)
		wg.Wait()
		if afterKill.Load() == 0 {
			t.Fatal("no request was served after the kill")
		}
		c.waitQuiet([]int{0, 1})
		// A surviving instance writes every event or counts it dropped (its
		// buffer full while the database lags, as on a loaded CI host).
		for i := range 2 {
			got := eventsOf(tenants[i].id) - start[i].events
			dropped := int(c.metric("tenant_events_dropped_total", []int{i})) - start[i].dropped
			if want := int(answered[i].Load()) * perRequest; got+dropped != want {
				t.Errorf("restaurant %d on a surviving instance: %d events stored and %d counted dropped for %d", i, got, dropped, want)
			} else if dropped > 0 {
				t.Logf("restaurant %d on a surviving instance: %d events stored, %d dropped and counted", i, got, dropped)
			}
		}
		// Lost with the process: what it held, at most a full queue and the
		// batch being written; the events it dropped before were counted.
		lost := int(answered[2].Load())*perRequest - (eventsOf(tenants[2].id) - start[2].events) - dropped
		t.Logf("killed instance: %d requests answered, %d events lost with it (queue %d, batch %d), %d dropped and counted before",
			answered[2].Load(), lost, bufferSize, batchSize, dropped)
		if lost < 0 || lost > bufferSize+batchSize {
			t.Errorf("killed instance lost %d events; it holds at most %d queued and %d being written", lost, bufferSize, batchSize)
		}
	})
	for _, n := range c.nodes[:2] {
		n.stop(t)
	}
}

func (c *cluster) sentTotal() int64 {
	return c.sent[0].Load() + c.sent[1].Load() + c.sent[2].Load()
}

// waitQuiet waits until the instances have written every event of the
// requests answered so far: their buffers' depth (queued plus the batch
// being written, read when scraped) is 0.
func (c *cluster) waitQuiet(nodes []int) {
	c.t.Helper()
	within(c.t, 10*time.Second, "buffered events written", func() bool {
		return c.metric("tenant_event_buffer_depth", nodes) == 0
	})
}

func maxDuration(a, b time.Duration) time.Duration {
	if a > b {
		return a
	}
	return b
}
