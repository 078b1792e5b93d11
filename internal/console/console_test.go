package console_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/analytics"
	"github.com/shimizu-tech/ordersuite/internal/auth"
	"github.com/shimizu-tech/ordersuite/internal/backup"
	"github.com/shimizu-tech/ordersuite/internal/console"
	"github.com/shimizu-tech/ordersuite/internal/events"
	"github.com/shimizu-tech/ordersuite/internal/flags"
	"github.com/shimizu-tech/ordersuite/internal/httpapi"
	"github.com/shimizu-tech/ordersuite/internal/jobs"
	"github.com/shimizu-tech/ordersuite/internal/metrics"
	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/storetest"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

func init() { auth.SetFastHashingForTests() }

const password = "correct horse battery"

// env is the real server (API and console) on a loopback port over a fresh
// database: two restaurants with an admin and a staff member each, and a
// platform operator.
type env struct {
	t       testing.TB
	db      *store.DB
	flags   *flags.Service
	metrics *metrics.Metrics
	srv     *httptest.Server
	backups *backup.Service
	jobs    *jobs.Queue
	A, B    tenancy.Restaurant
	admin   map[string]tenancy.User // by restaurant id
	staff   map[string]tenancy.User
	super   tenancy.User
}

func newEnv(t testing.TB) *env {
	t.Helper()
	db := storetest.Open(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	e := &env{t: t, db: db, metrics: metrics.New(), admin: map[string]tenancy.User{}, staff: map[string]tenancy.User{}}
	e.flags = flags.New(db, flags.Options{Log: log})
	authn := &auth.Service{DB: db, Secret: []byte("test-secret-test-secret-test-secret!")}
	sink := events.StoreSink{DB: db, Log: log}
	srv := &httpapi.Server{DB: db, Auth: authn, Events: sink, Metrics: e.metrics, Log: log,
		Flags: e.flags, Analytics: &analytics.Service{DB: db}}
	if err := jobs.Migrate(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	e.backups = &backup.Service{DB: db, Storage: backup.Dir{Path: filepath.Join(dir, "backups")}, AppVersion: "test", TempDir: dir}
	e.jobs = jobs.New(db, jobs.Options{PollInterval: 100 * time.Millisecond})
	e.backups.RegisterJobs(e.jobs, nil)
	srv.Backups, srv.Jobs = e.backups, e.jobs
	srv.Console = (&console.Console{DB: db, Auth: authn, Flags: e.flags, Analytics: srv.Analytics,
		Events: sink, Metrics: e.metrics, Log: log, Backups: e.backups, Jobs: e.jobs,
		Environments: map[string]backup.Environment{"staging": {Name: "staging", BaseURL: "http://127.0.0.1:1"}}}).Handler()
	e.srv = httptest.NewServer(srv.Handler())
	t.Cleanup(e.srv.Close)
	ctx := context.Background()
	hash, err := auth.HashPassword(password)
	if err != nil {
		t.Fatal(err)
	}
	for i, name := range []string{"Alpha Sushi", "Beta Burgers"} {
		prefix := []string{"AS", "BB"}[i]
		r, err := db.CreateRestaurant(ctx, name, prefix)
		if err != nil {
			t.Fatal(err)
		}
		tctx := tenancy.WithTenant(ctx, r.ID)
		for _, role := range []tenancy.Role{tenancy.Admin, tenancy.Staff} {
			u, err := db.CreateUser(tctx, tenancy.User{Email: string(role) + "@" + strings.ToLower(prefix) + ".test",
				Name: string(role), Role: role, PasswordHash: hash})
			if err != nil {
				t.Fatal(err)
			}
			map[tenancy.Role]map[string]tenancy.User{tenancy.Admin: e.admin, tenancy.Staff: e.staff}[role][r.ID] = u
		}
		if i == 0 {
			e.A = r
		} else {
			e.B = r
		}
	}
	if e.super, err = db.UpsertSuperAdmin(ctx, "root@platform.test", "Root", hash); err != nil {
		t.Fatal(err)
	}
	return e
}

// browser is a cookie-keeping client that does not follow redirects, so
// tests see each answer.
type browser struct {
	e    *env
	c    *http.Client
	last string // the last page, for its form tokens
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{e: e, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

type page struct {
	Status   int
	Body     string
	Location string
}

func (b *browser) do(req *http.Request) page {
	b.e.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	p := page{Status: resp.StatusCode, Body: string(body), Location: resp.Header.Get("Location")}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		b.last = p.Body
	}
	return p
}

func (b *browser) get(path string) page {
	b.e.t.Helper()
	req, _ := http.NewRequest("GET", b.e.srv.URL+path, nil)
	return b.do(req)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]*)"`)

// post submits a form with the CSRF token of the last page seen (unless
// the form sets csrf itself).
func (b *browser) post(path string, form url.Values) page {
	b.e.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["csrf"]; !ok {
		if m := csrfField.FindStringSubmatch(b.last); m != nil {
			form.Set("csrf", m[1])
		}
	}
	req, _ := http.NewRequest("POST", b.e.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

var ticketField = regexp.MustCompile(`name="ticket" value="([^"]*)"`)

// login signs in through the form and fails the test unless it worked.
// When the e-mail is in several restaurants the form asks which; the
// restaurant given is the one chosen.
func (b *browser) login(email string, restaurantID ...string) {
	b.e.t.Helper()
	b.get("/console/login")
	p := b.post("/console/login", url.Values{"email": {email}, "password": {password}})
	if m := ticketField.FindStringSubmatch(p.Body); p.Status == http.StatusOK && m != nil && len(restaurantID) > 0 {
		p = b.post("/console/login", url.Values{"email": {email}, "ticket": {m[1]}, "restaurant_id": {restaurantID[0]}})
	}
	if p.Status != http.StatusSeeOther {
		b.e.t.Fatalf("login %s: %d\n%s", email, p.Status, p.Body)
	}
}

func tenantPath(rid, rest string) string { return "/console/t/" + rid + rest }

func TestLogin(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	t.Run("operator lands on the restaurant list with a switcher", func(t *testing.T) {
		b := e.browser()
		b.login("root@platform.test")
		p := b.get("/console/")
		if p.Status != 200 || !strings.Contains(p.Body, "Alpha Sushi") || !strings.Contains(p.Body, "Beta Burgers") ||
			!strings.Contains(p.Body, `id="switch-restaurant"`) {
			t.Fatalf("home: %d\n%s", p.Status, p.Body)
		}
		p = b.get("/console/switch?restaurant_id=" + e.B.ID + "&section=flags")
		if p.Status != http.StatusSeeOther || p.Location != tenantPath(e.B.ID, "/flags") {
			t.Errorf("switch: %d %s", p.Status, p.Location)
		}
	})
	t.Run("admin lands on their own restaurant and has no switcher", func(t *testing.T) {
		b := e.browser()
		b.login("admin@as.test")
		p := b.get("/console/")
		if p.Status != http.StatusSeeOther || p.Location != tenantPath(e.A.ID, "/") {
			t.Fatalf("home: %d %s", p.Status, p.Location)
		}
		p = b.get(tenantPath(e.A.ID, "/flags"))
		if p.Status != 200 || strings.Contains(p.Body, "switch-restaurant") || strings.Contains(p.Body, "Beta Burgers") {
			t.Errorf("flags page: %d\n%s", p.Status, p.Body)
		}
		if p := b.get("/console/switch?restaurant_id=" + e.B.ID); p.Status != 404 {
			t.Errorf("switcher for an admin: %d", p.Status)
		}
	})
	t.Run("wrong password is explained in words", func(t *testing.T) {
		b := e.browser()
		b.get("/console/login")
		p := b.post("/console/login", url.Values{"email": {"admin@as.test"}, "password": {"wrong password!"}})
		if p.Status != http.StatusUnauthorized || !strings.Contains(p.Body, "The e-mail or password is wrong.") {
			t.Errorf("%d\n%s", p.Status, p.Body)
		}
		if p := b.get("/console/"); p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Location, "/console/login") {
			t.Errorf("not signed in, yet /console/ gave %d %s", p.Status, p.Location)
		}
	})
	t.Run("staff cannot use the console", func(t *testing.T) {
		b := e.browser()
		b.get("/console/login")
		p := b.post("/console/login", url.Values{"email": {"staff@as.test"}, "password": {password}})
		if p.Status != http.StatusForbidden || !strings.Contains(p.Body, "restaurant administrators and platform operators") {
			t.Errorf("%d\n%s", p.Status, p.Body)
		}
	})
	t.Run("login form without its token is refused", func(t *testing.T) {
		b := e.browser()
		b.get("/console/login")
		p := b.post("/console/login", url.Values{"email": {"admin@as.test"}, "password": {password}, "csrf": {"forged"}})
		if p.Status != http.StatusForbidden || !strings.Contains(p.Body, "expired") {
			t.Errorf("%d\n%s", p.Status, p.Body)
		}
	})
	t.Run("next stays inside the console", func(t *testing.T) {
		b := e.browser()
		b.get("/console/login")
		p := b.post("/console/login", url.Values{"email": {"admin@as.test"}, "password": {password}, "next": {"//evil.example/x"}})
		if p.Location != "/console/" {
			t.Errorf("redirect after login: %q", p.Location)
		}
	})
	t.Run("logout revokes the session token", func(t *testing.T) {
		b := e.browser()
		b.login("admin@as.test")
		u, _ := url.Parse(e.srv.URL)
		var token string
		for _, c := range b.c.Jar.Cookies(u) {
			if c.Name == "ordersuite_session" {
				token = c.Value
			}
		}
		b.get(tenantPath(e.A.ID, "/flags"))
		if p := b.post("/console/logout", nil); p.Status != http.StatusSeeOther || p.Location != "/console/login" {
			t.Fatalf("logout: %d %s", p.Status, p.Location)
		}
		// The same token, replayed, no longer works: for pages or the API.
		req, _ := http.NewRequest("GET", e.srv.URL+"/api/v1/me", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("API with the logged-out token: %d", resp.StatusCode)
		}
	})
}

// TestSessionCookie checks the cookie's attributes.
func TestSessionCookie(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.browser()
	b.get("/console/login")
	form := url.Values{"email": {"admin@as.test"}, "password": {password}}
	form.Set("csrf", csrfField.FindStringSubmatch(b.last)[1])
	req, _ := http.NewRequest("POST", e.srv.URL+"/console/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var found bool
	for _, c := range resp.Cookies() {
		if c.Name == "ordersuite_session" {
			found = true
			if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure {
				t.Errorf("session cookie over plain HTTP: %+v", c)
			}
		}
	}
	if !found {
		t.Fatal("no session cookie")
	}
}

// TestCSRF: a form posted without the session's token, or from another
// site, changes nothing.
func TestCSRF(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.browser()
	b.login("root@platform.test")
	b.get(tenantPath(e.A.ID, "/flags"))
	before := e.flagRows(e.A.ID)
	form := url.Values{"key": {"new_menu"}, "scope": {"tenant"}, "enabled": {"on"}}
	form.Set("csrf", "not-the-token")
	if p := b.post(tenantPath(e.A.ID, "/flags"), form); p.Status != http.StatusForbidden {
		t.Errorf("wrong token: %d", p.Status)
	}
	form.Del("csrf")
	req, _ := http.NewRequest("POST", e.srv.URL+tenantPath(e.A.ID, "/flags"), strings.NewReader(form.Encode()+"&csrf="+csrfField.FindStringSubmatch(b.last)[1]))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if p := b.do(req); p.Status != http.StatusForbidden {
		t.Errorf("cross-site post with a valid token: %d", p.Status)
	}
	if after := e.flagRows(e.A.ID); after != before {
		t.Errorf("flags changed: %s → %s", before, after)
	}
}

func (e *env) flagRows(rid string) string {
	e.t.Helper()
	rows, err := e.db.TenantRows(context.Background(), "feature_flags", rid)
	if err != nil {
		e.t.Fatal(err)
	}
	b, _ := json.Marshal(rows)
	return string(b)
}

// snapshot captures every row a restaurant owns.
func (e *env) snapshot(rid string) string {
	e.t.Helper()
	all := map[string]any{}
	for _, table := range append([]string{"restaurants"}, store.TenantTables...) {
		if table == "tenant_events" || table == "tenant_event_rollups" {
			continue // the pages themselves may be logged
		}
		rows, err := e.db.TenantRows(context.Background(), table, rid)
		if err != nil {
			e.t.Fatal(err)
		}
		all[table] = rows
	}
	b, _ := json.Marshal(all)
	return string(b)
}

var pathParam = regexp.MustCompile(`\{(\w+)\}`)

// pagePath fills a page pattern with rid and, for the other parameters,
// resources of that restaurant. A parameter without a value fails the test,
// so a new page cannot skip its isolation check.
func (e *env) pagePath(p console.Page, rid string, resources map[string]string) string {
	path := strings.TrimSuffix(p.Pattern, "{$}")
	return pathParam.ReplaceAllStringFunc(path, func(m string) string {
		name := m[1 : len(m)-1]
		if name == "rid" {
			return rid
		}
		v, ok := resources[name]
		if !ok {
			e.t.Fatalf("page %s has parameter %s but the isolation test has no resource for it", p.Pattern, m)
		}
		return v
	})
}

// TestIsolation walks the page table: an admin of A asking for any of B's
// pages gets "not found" and B is unchanged; an admin asking for an
// operator page gets "not found"; nobody signed out gets anything.
func TestIsolation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := tenancy.WithTenant(context.Background(), e.B.ID)
	on := true
	bFlag, err := e.flags.Create(ctx, "b_only", false, flags.Change{Enabled: &on})
	if err != nil {
		t.Fatal(err)
	}
	bBackup, err := e.backups.Export(ctx, e.B.ID, "fixture", nil)
	if err != nil {
		t.Fatal(err)
	}
	bJob, err := e.db.CreateJob(ctx, store.JobRecord{Kind: backup.KindExport, RestaurantID: e.B.ID})
	if err != nil {
		t.Fatal(err)
	}
	resources := map[string]string{"id": bFlag.ID, "bid": bBackup.ID, "job_id": bJob.ID}
	admin := e.browser()
	admin.login("admin@as.test")
	admin.get(tenantPath(e.A.ID, "/flags")) // a page with the admin's own form token
	anon := e.browser()
	form := url.Values{"key": {"b_only"}, "scope": {"tenant"}, "action": {"off"}, "enabled": {"on"}, "percentage": {"10"},
		"target": {"this"}, "confirm": {"replace"}, "new_name": {"Stolen"}, "environment": {"staging"}}
	for _, p := range console.Pages() {
		if p.Access == console.Public {
			continue
		}
		t.Run(p.Method+" "+p.Pattern, func(t *testing.T) {
			before := e.snapshot(e.B.ID)
			path := e.pagePath(p, e.B.ID, resources)
			backupsBefore, _ := e.backups.List(context.Background(), e.B.ID)
			var got page
			switch {
			case p.Pattern == "/console/logout":
				// Would end the admin's session for the pages after it;
				// logging out is tested on its own.
			case p.Method == "GET":
				got = admin.get(path)
			default:
				got = admin.post(path, url.Values(form))
			}
			mustNotReach := p.Access == console.Tenant || p.Access == console.TenantOperator || p.Access == console.Operator
			if mustNotReach && got.Status != http.StatusNotFound {
				t.Errorf("admin of A on %s: %d, want 404", path, got.Status)
			}
			if strings.Contains(got.Body, "Beta Burgers") || strings.Contains(got.Body, "b_only") {
				t.Errorf("B's data shown to A's admin on %s", path)
			}
			if after := e.snapshot(e.B.ID); after != before {
				t.Errorf("B changed by %s %s", p.Method, path)
			}
			if backupsAfter, _ := e.backups.List(context.Background(), e.B.ID); len(backupsAfter) != len(backupsBefore) {
				t.Errorf("B's backups changed by %s %s", p.Method, path)
			}
			if jobs, _ := e.db.RecentJobs(context.Background(), e.B.ID, 10); len(jobs) != 1 {
				t.Errorf("%s %s started a job for B", p.Method, path)
			}
			// Signed out: a GET goes to the login form, a POST is refused.
			var out page
			if p.Method == "GET" {
				out = anon.get(path)
				if out.Status != http.StatusSeeOther || !strings.HasPrefix(out.Location, "/console/login") {
					t.Errorf("signed out GET %s: %d %s", path, out.Status, out.Location)
				}
			} else {
				out = anon.post(path, url.Values(form))
				if out.Status != http.StatusUnauthorized {
					t.Errorf("signed out POST %s: %d", path, out.Status)
				}
			}
		})
	}
	// And the same paths with a malformed restaurant id are not found, not errors.
	if p := admin.get("/console/t/not-an-id/flags"); p.Status != http.StatusNotFound {
		t.Errorf("malformed id: %d", p.Status)
	}
	page, err := e.db.Events(tenancy.WithTenant(context.Background(), e.A.ID), store.EventFilter{Type: "security_alert"}, 100)
	if err != nil {
		t.Fatal(err)
	}
	rows := page.Events
	if len(rows) == 0 {
		t.Error("no security_alert recorded for A's cross-tenant attempts")
	}
}

// TestFlagsPage: the operator toggles and sets a rollout, and the page's
// evaluation follows; bad input is a form error, not a crash.
func TestFlagsPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.browser()
	b.login("root@platform.test")
	flagsPath := tenantPath(e.A.ID, "/flags")
	b.get(flagsPath)
	p := b.post(flagsPath, url.Values{"key": {"new_menu"}, "description": {"The new menu"}, "scope": {"tenant"}})
	if p.Status != http.StatusSeeOther {
		t.Fatalf("create: %d\n%s", p.Status, p.Body)
	}
	eval := func() string {
		p := b.get(flagsPath + "?entity=customer-7")
		m := regexp.MustCompile(`data-key="new_menu">(?s:.*?)class="evaluation"><span class="badge (\w+)"`).FindStringSubmatch(p.Body)
		if m == nil {
			t.Fatalf("no evaluation for new_menu:\n%s", p.Body)
		}
		return m[1]
	}
	if got := eval(); got != "off" {
		t.Errorf("created off, evaluates %s", got)
	}
	if !strings.Contains(b.last, "Created new_menu for Alpha Sushi") {
		t.Errorf("no flash message after create")
	}
	b.post(tenantPath(e.A.ID, "/flags/set"), url.Values{"key": {"new_menu"}, "scope": {"tenant"}, "action": {"on"}})
	if got := eval(); got != "on" {
		t.Errorf("after turning on: %s", got)
	}
	if ok := e.flags.Enabled(tenancy.WithTenant(context.Background(), e.A.ID), "new_menu", "x"); !ok {
		t.Error("the service does not see the flag on")
	}
	if e.flags.Enabled(tenancy.WithTenant(context.Background(), e.B.ID), "new_menu", "x") {
		t.Error("a restaurant flag leaked to B")
	}
	// 0 % rollout: on, but nobody in it.
	b.post(tenantPath(e.A.ID, "/flags/set"), url.Values{"key": {"new_menu"}, "scope": {"tenant"}, "action": {"percentage"}, "percentage": {"0"}})
	if got := eval(); got != "off" {
		t.Errorf("0 %% rollout: %s", got)
	}

	t.Run("validation errors are shown in the form", func(t *testing.T) {
		for _, c := range []struct {
			form url.Values
			want string
		}{
			{url.Values{"key": {"Bad Key!"}}, "key: use lower case letters"}, {url.Values{"key": {""}}, "key: must match"},
			{url.Values{"key": {"ok_key"}, "percentage": {"150"}}, "percentage: must be a whole number from 0 to 100"},
			{url.Values{"key": {"ok_key"}, "percentage": {"ten"}}, "percentage: must be a whole number"},
			{url.Values{"key": {"new_menu"}}, "already exists"},
			{url.Values{"key": {"ok_key"}, "scope": {"elsewhere"}}, "scope: must be"},
		} {
			p := b.post(flagsPath, c.form)
			if p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, c.want) {
				t.Errorf("%v: %d, want 422 with %q\n%s", c.form, p.Status, c.want, p.Body)
			}
			if !strings.Contains(p.Body, `value="`+c.form.Get("key")+`"`) {
				t.Errorf("%v: the form lost what was typed", c.form)
			}
		}
		if p := b.post(tenantPath(e.A.ID, "/flags/set"), url.Values{"key": {"new_menu"}, "action": {"explode"}}); p.Status != http.StatusUnprocessableEntity {
			t.Errorf("unknown action: %d", p.Status)
		}
		if p := b.post(tenantPath(e.A.ID, "/flags/"+store.NewID()+"/delete"), nil); p.Status != http.StatusNotFound {
			t.Errorf("delete unknown flag: %d", p.Status)
		}
	})

	t.Run("global default, overridden by the restaurant", func(t *testing.T) {
		b.post(flagsPath, url.Values{"key": {"dark_mode"}, "scope": {"global"}, "enabled": {"on"}})
		if !e.flags.Enabled(tenancy.WithTenant(context.Background(), e.B.ID), "dark_mode", "") {
			t.Fatal("global default not on for B")
		}
		b.post(tenantPath(e.A.ID, "/flags/set"), url.Values{"key": {"dark_mode"}, "scope": {"tenant"}, "action": {"off"}})
		if e.flags.Enabled(tenancy.WithTenant(context.Background(), e.A.ID), "dark_mode", "") {
			t.Error("A's override did not win")
		}
		if p := b.get(flagsPath); !strings.Contains(p.Body, "overrides the default") {
			t.Error("the page does not say A overrides the default")
		}
	})

	t.Run("an admin sees flags but cannot change them", func(t *testing.T) {
		a := e.browser()
		a.login("admin@as.test")
		p := a.get(flagsPath)
		if p.Status != 200 || !strings.Contains(p.Body, "new_menu") || strings.Contains(p.Body, "Create flag") {
			t.Fatalf("admin flags page: %d", p.Status)
		}
		before := e.flagRows(e.A.ID)
		if p := a.post(tenantPath(e.A.ID, "/flags/set"), url.Values{"key": {"new_menu"}, "scope": {"tenant"}, "action": {"on"}}); p.Status != http.StatusForbidden {
			t.Errorf("admin change: %d", p.Status)
		}
		if e.flagRows(e.A.ID) != before {
			t.Error("an admin changed a flag")
		}
	})
}

// TestReadOnlyTenant: a read-only restaurant's pages show, its forms are
// refused with the reason.
func TestReadOnlyTenant(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if _, err := e.db.SetRestaurantStatus(tenancy.WithTenant(context.Background(), e.A.ID), tenancy.ReadOnly); err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	b.login("root@platform.test")
	if p := b.get(tenantPath(e.A.ID, "/flags")); p.Status != 200 {
		t.Fatalf("read-only flags page: %d", p.Status)
	}
	p := b.post(tenantPath(e.A.ID, "/flags"), url.Values{"key": {"x"}})
	if p.Status != http.StatusLocked || !strings.Contains(p.Body, "read-only") {
		t.Errorf("%d\n%s", p.Status, p.Body)
	}
}

// TestAnalyticsPage: basic by default, advanced with the flag.
func TestAnalyticsPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := tenancy.WithTenant(context.Background(), e.A.ID)
	if err := e.db.InsertEvents(ctx, []store.TenantEvent{
		{RestaurantID: e.A.ID, Type: "api_request", Data: json.RawMessage(`{"route":"/api/v1/menu_items","method":"GET","duration_ms":42,"status":200}`)},
		{RestaurantID: e.A.ID, Type: "api_request", Data: json.RawMessage(`{"route":"/api/v1/orders","method":"POST","duration_ms":120,"status":500}`)},
	}); err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	b.login("admin@as.test")
	p := b.get(tenantPath(e.A.ID, "/analytics"))
	if p.Status != 200 || !strings.Contains(p.Body, "<h1>Analytics</h1>") || strings.Contains(p.Body, `id="advanced"`) {
		t.Fatalf("basic: %d\n%s", p.Status, p.Body)
	}
	if !strings.Contains(p.Body, "50 %") { // one of two requests answered 500
		t.Errorf("basic dashboard lacks the error rate")
	}
	on := true
	if _, err := e.flags.Set(ctx, console.AdvancedAnalyticsFlag, false, flags.Change{Enabled: &on}); err != nil {
		t.Fatal(err)
	}
	p = b.get(tenantPath(e.A.ID, "/analytics"))
	for _, want := range []string{`id="advanced"`, "<svg", "POST /api/v1/orders", "95th percentile", "Recent events"} {
		if !strings.Contains(p.Body, want) {
			t.Errorf("advanced dashboard lacks %q", want)
		}
	}
	if strings.Contains(p.Body, "<script>") || strings.Contains(p.Body, "http://") || strings.Contains(p.Body, "https://") {
		t.Error("the page loads something from outside or inlines script")
	}
	// B's page, as its operator sees it, stays basic: the flag is A's.
	s := e.browser()
	s.login("root@platform.test")
	if p := s.get(tenantPath(e.B.ID, "/analytics")); strings.Contains(p.Body, `id="advanced"`) {
		t.Error("A's flag switched B's dashboard")
	}
}

// TestAssets: the stylesheet and script are served from the binary.
func TestAssets(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.browser()
	for _, path := range []string{"/assets/console.css", "/assets/console.js"} {
		req, _ := http.NewRequest("GET", e.srv.URL+path, nil)
		resp, err := b.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || len(body) < 100 {
			t.Errorf("%s: %d, %d bytes", path, resp.StatusCode, len(body))
		}
	}
	if p := b.get("/console/no/such/page"); p.Status != http.StatusSeeOther && p.Status != http.StatusNotFound {
		t.Errorf("unknown page: %d", p.Status)
	}
}
