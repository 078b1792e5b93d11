//go:build browser

// Browser tests: the console driven end to end in headless Chromium. They
// need the Debian chromium package and run as their own step:
//
//	go test -tags browser -run Browser ./internal/console/...
//
// Screenshots of every page go to $CONSOLE_SCREENSHOTS, or to a new
// directory under the system's temp directory, named in the test log.
package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// chromium finds the browser. Missing it skips the tests on a workstation
// and fails them in CI, where it must be installed.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{os.Getenv("CHROMIUM"), "/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"} {
		if name == "" {
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed (apt-get install -y chromium); the browser tests cannot run")
	}
	t.Skip("chromium is not installed; set CHROMIUM or apt-get install -y chromium")
	return ""
}

// tab is one headless browser tab with a screenshot folder.
type tab struct {
	t    *testing.T
	ctx  context.Context
	base string
	dir  string
}

func newTab(t *testing.T, base string) *tab {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.NoSandbox, chromedp.DisableGPU,
		// The machine has no network: keep the browser from trying.
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(alloc)
	ctx, cancelTime := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() { cancelTime(); cancelTab(); cancelAlloc() })
	dir := os.Getenv("CONSOLE_SCREENSHOTS")
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "console-screenshots-"); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", dir)
	return &tab{t: t, ctx: ctx, base: base, dir: dir}
}

func (b *tab) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatal(err)
	}
}

func (b *tab) open(path string) {
	b.t.Helper()
	b.do(chromedp.Navigate(b.base + path))
}

func (b *tab) eval(js string) string {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](js))
	if err != nil {
		b.t.Fatalf("%s: %v", js, err)
	}
	return v
}

// waitFor polls a JavaScript condition until it holds.
func (b *tab) waitFor(what, js string) {
	b.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](js))
		if err == nil && ok {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.shot("failed-" + strings.ReplaceAll(what, " ", "-"))
	b.t.Fatalf("timed out waiting for %s (%s) on %s", what, js, b.eval("location.pathname"))
}

// waitHeading waits for a page whose h1 contains text.
func (b *tab) waitHeading(text string) {
	b.t.Helper()
	q, _ := json.Marshal(text)
	b.waitFor("heading "+text, fmt.Sprintf(`(document.querySelector("h1")||{textContent:""}).textContent.includes(%s)`, q))
}

func (b *tab) shot(name string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(b.dir, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

func (b *tab) login(email string) {
	b.t.Helper()
	b.open("/console/login")
	b.waitHeading("Sign in")
	b.do(chromedp.SendKeys(chromedp.CSS("#email"), email), chromedp.SendKeys(chromedp.CSS("#password"), password+"\r"))
}

func (b *tab) logout() {
	b.t.Helper()
	b.do(chromedp.Click(chromedp.CSS(".signout button")))
	b.waitHeading("Sign in")
}

func (b *tab) evaluation(key string) string {
	b.t.Helper()
	return b.eval(fmt.Sprintf(`(document.querySelector('tr[data-key="%s"] td.evaluation .badge')||{textContent:"missing"}).textContent`, key))
}

// seedTraffic writes a day of requests for the dashboards to draw.
func seedTraffic(t *testing.T, e *env, rid string) {
	t.Helper()
	now := e.db.Now()
	var evs []store.TenantEvent
	routes := []string{"GET /api/v1/menu_items", "POST /api/v1/orders", "GET /api/v1/orders/{id}", "GET /api/v1/reservations"}
	for i := 0; i < 240; i++ {
		mr := strings.SplitN(routes[i%len(routes)], " ", 2)
		status := 200
		if i%37 == 0 {
			status = 503
		}
		data, _ := json.Marshal(map[string]any{"method": mr[0], "route": mr[1], "path": mr[1], "duration_ms": 20 + (i*53)%400, "status": status})
		evs = append(evs, store.TenantEvent{RestaurantID: rid, Type: "api_request", Data: data,
			CreatedAt: now.Add(-time.Duration(i) * 6 * time.Minute)})
	}
	if err := e.db.InsertEvents(tenancy.WithTenant(context.Background(), rid), evs); err != nil {
		t.Fatal(err)
	}
}

// TestBrowser walks the console as its two kinds of users.
func TestBrowser(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	seedTraffic(t, e, e.A.ID)
	b := newTab(t, e.srv.URL)

	// The operator signs in and sees every restaurant.
	b.login("root@platform.test")
	b.waitHeading("Restaurants")
	if body := b.eval(`document.body.innerText`); !strings.Contains(body, "Alpha Sushi") || !strings.Contains(body, "Beta Burgers") {
		t.Fatalf("restaurant list:\n%s", body)
	}
	b.shot("01-operator-restaurants")

	// The keyboard reaches the skip link first, and focus is visible.
	b.do(chromedp.KeyEvent("\t"))
	if got := b.eval(`document.activeElement.textContent`); got != "Skip to content" {
		t.Errorf("first Tab stop: %q", got)
	}
	if outline := b.eval(`getComputedStyle(document.activeElement).outlineStyle`); outline == "none" {
		t.Error("focused link has no outline")
	}

	// The switcher goes to Beta Burgers.
	b.do(chromedp.SetValue(chromedp.CSS("#switch-restaurant"), e.B.ID), chromedp.Click(chromedp.CSS(".switcher button")))
	b.waitFor("B's analytics", fmt.Sprintf(`location.pathname == "/console/t/%s/analytics"`, e.B.ID))
	b.waitHeading("Analytics")
	b.shot("02-operator-switched-to-beta")

	// Flags of Alpha Sushi: create one, see it off, turn it on, see it on.
	b.open("/console/t/" + e.A.ID + "/flags")
	b.waitHeading("Feature flags")
	b.do(chromedp.SendKeys(chromedp.CSS("#key"), "new_menu"),
		chromedp.SendKeys(chromedp.CSS("#description"), "The spring menu"),
		chromedp.Click(chromedp.CSS(`form[aria-labelledby="new-flag"] button.primary`)))
	b.waitFor("flash", `(document.querySelector(".flash")||{textContent:""}).textContent.includes("Created new_menu")`)
	b.do(chromedp.SendKeys(chromedp.CSS("#entity"), "customer-7\r"))
	b.waitFor("evaluation for customer-7", `location.search.includes("entity=customer-7")`)
	if got := b.evaluation("new_menu"); got != "off" {
		t.Errorf("new flag evaluates %q, want off", got)
	}
	b.do(chromedp.Click(chromedp.CSS(`#flags tr[data-key="new_menu"] button[value="on"]`)))
	b.waitFor("flash", `(document.querySelector(".flash")||{textContent:""}).textContent.includes("new_menu is now on for everyone")`)
	b.open("/console/t/" + e.A.ID + "/flags?entity=customer-7")
	if got := b.evaluation("new_menu"); got != "on" {
		t.Errorf("after turning on, evaluates %q", got)
	}
	// A form error is shown in words, next to what was typed.
	b.do(chromedp.SendKeys(chromedp.CSS("#key"), "Not A Key"), chromedp.SetAttributeValue(chromedp.CSS("#key"), "pattern", ".*"),
		chromedp.Click(chromedp.CSS(`form[aria-labelledby="new-flag"] button.primary`)))
	b.waitFor("form error", `(document.querySelector(".error")||{textContent:""}).textContent.includes("key: use lower case letters")`)
	b.shot("03-operator-flags-with-form-error")

	// Basic analytics, then the advanced dashboard once its flag is on.
	b.open("/console/t/" + e.A.ID + "/analytics")
	b.waitHeading("Analytics")
	if n := b.eval(`String(document.querySelectorAll("svg.chart").length)`); n != "0" {
		t.Errorf("basic dashboard draws %s charts", n)
	}
	b.shot("04-analytics-basic")
	b.open("/console/t/" + e.A.ID + "/flags")
	b.waitHeading("Feature flags")
	b.do(chromedp.SendKeys(chromedp.CSS("#key"), "advanced_analytics"), chromedp.Click(chromedp.CSS("#enabled")),
		chromedp.Click(chromedp.CSS(`form[aria-labelledby="new-flag"] button.primary`)))
	b.waitFor("flash", `(document.querySelector(".flash")||{textContent:""}).textContent.includes("Created advanced_analytics")`)
	b.shot("05-operator-flags")
	b.open("/console/t/" + e.A.ID + "/analytics")
	b.waitHeading("Advanced analytics")
	if n := b.eval(`String(document.querySelectorAll("svg.chart").length)`); n != "4" {
		t.Errorf("advanced dashboard draws %s charts, want 4", n)
	}
	if bars := b.eval(`String(document.querySelectorAll("svg.chart rect.bar").length)`); bars == "0" {
		t.Error("no bars in the request chart")
	}
	if routes := b.eval(`document.querySelector("#top-routes").innerText`); !strings.Contains(routes, "POST /api/v1/orders") {
		t.Errorf("top routes:\n%s", routes)
	}
	b.shot("06-analytics-advanced")
	b.logout()
	b.shot("07-signed-out")

	// The admin of Alpha Sushi lands on their restaurant and cannot reach Beta's.
	b.login("admin@as.test")
	b.waitHeading("Advanced analytics")
	b.shot("08-admin-analytics")
	b.open("/console/t/" + e.A.ID + "/flags")
	b.waitHeading("Feature flags")
	if n := b.eval(`String(document.querySelectorAll("#switch-restaurant, form[aria-labelledby='new-flag'], #flags button").length)`); n != "0" {
		t.Errorf("an admin sees %s operator controls", n)
	}
	b.shot("09-admin-flags")
	for _, path := range []string{"/console/t/" + e.B.ID + "/flags", "/console/t/" + e.B.ID + "/analytics", "/console/switch?restaurant_id=" + e.B.ID} {
		b.open(path)
		b.waitHeading("Not found")
		if body := b.eval(`document.body.innerText`); strings.Contains(body, "Beta Burgers") {
			t.Errorf("%s shows Beta Burgers to Alpha's admin", path)
		}
	}
	b.shot("10-admin-other-restaurant-not-found")

	// Phone width: nothing wider than the screen; wide tables scroll in place.
	b.do(chromedp.EmulateViewport(390, 844))
	for _, p := range []struct{ path, name string }{
		{"/console/t/" + e.A.ID + "/flags", "11-phone-flags"},
		{"/console/t/" + e.A.ID + "/analytics", "12-phone-analytics"},
	} {
		b.open(p.path)
		b.waitFor("page", `document.readyState == "complete"`)
		if w := b.eval(`String(document.documentElement.scrollWidth)`); w != "390" {
			t.Errorf("%s is %s px wide on a 390 px screen", p.path, w)
		}
		b.shot(p.name)
	}
}
