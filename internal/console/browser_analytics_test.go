//go:build browser

package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// seedBusiness adds orders, payments, logins, errors and an alert to the
// requests of seedTraffic, so every kind of row of the events table shows.
func seedBusiness(t *testing.T, e *env, rid string) {
	t.Helper()
	ctx := tenancy.WithTenant(context.Background(), rid)
	now := e.db.Now()
	var evs []store.TenantEvent
	add := func(typ string, ago time.Duration, data map[string]any) {
		b, _ := json.Marshal(data)
		evs = append(evs, store.TenantEvent{RestaurantID: rid, Type: typ, Data: b, CreatedAt: now.Add(-ago)})
	}
	for i := 0; i < 12; i++ {
		number := fmt.Sprintf("AS-O-%03d", i+1)
		cents := int64(1250 + 731*i)
		at := now.Add(-time.Duration(i) * 37 * time.Hour)
		if _, err := e.db.SQL().ExecContext(ctx, `INSERT INTO orders (restaurant_id, id, number, order_type, status, subtotal_cents,
			discount_cents, total_amount_cents, created_at, updated_at) VALUES ($1, $2, $3, 'takeout', 'completed', $4, 0, $4, $5, $5)`,
			rid, store.NewID(), number, cents, at); err != nil {
			t.Fatal(err)
		}
		add("order_created", time.Duration(i)*37*time.Hour, map[string]any{"order_id": store.NewID(), "order_number": number, "total_amount_cents": cents})
		add("payment_processed", time.Duration(i)*37*time.Hour-time.Minute, map[string]any{"amount_cents": cents, "payment_method": "card", "order_id": store.NewID()})
	}
	add("user_login", 3*time.Minute, map[string]any{"user_id": store.NewID(), "email": "admin@as.test"})
	add("error", 4*time.Minute, map[string]any{"error_type": "server_error", "status": 503, "route": "/api/v1/orders", "method": "POST"})
	add("security_alert", 5*time.Minute, map[string]any{"alert": "failed_login_burst", "email": "admin@as.test", "failures": 6, "ip": "192.0.2.7",
		"note": strings.Repeat("a-very-long-unbroken-value-", 12)})
	if err := e.db.InsertEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
}

// TestBrowserAnalyticsReadsWell: the operator's home and a restaurant's
// analytics pages (basic, advanced, the next page of events) at desktop and
// phone width: amounts in the restaurant's currency, a readable events table
// whose raw JSON opens on demand, pages that fit a 390 px screen. Screenshots
// of each page at both widths go to $CONSOLE_SCREENSHOTS.
func TestBrowserAnalyticsReadsWell(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	seedTraffic(t, e, e.A.ID)
	seedBusiness(t, e, e.A.ID)
	eur := "EUR"
	if _, err := e.db.UpdateRestaurant(tenancy.WithTenant(context.Background(), e.A.ID), store.RestaurantPatch{Currency: &eur}); err != nil {
		t.Fatal(err)
	}
	b := newTab(t, e.srv.URL)
	b.login("root@platform.test")
	b.waitHeading("Restaurants")

	analyticsPath := "/console/t/" + e.A.ID + "/analytics"
	pages := []struct{ name, path, heading string }{
		{"home", "/console/", "Restaurants"},
		{"analytics-basic", analyticsPath, "Analytics"},
	}
	check := func(width int, suffix string) {
		for _, p := range pages {
			b.open(p.path)
			b.waitHeading(p.heading)
			if width <= 390 {
				if w, _ := strconv.Atoi(b.eval(`String(document.documentElement.scrollWidth)`)); w > 390 {
					t.Errorf("%s at %d px: the page is %d px wide", p.name, width, w)
				}
			}
			b.shot("analytics-" + p.name + "-" + suffix)
		}
	}
	check(1280, "desktop")

	// Turn the advanced dashboard on.
	b.open("/console/t/" + e.A.ID + "/flags")
	b.waitHeading("Feature flags")
	b.do(chromedp.SendKeys(chromedp.CSS("#key"), "advanced_analytics"), chromedp.Click(chromedp.CSS("#enabled")),
		chromedp.Click(chromedp.CSS(`form[aria-labelledby="new-flag"] button.primary`)))
	b.waitFor("flash", `(document.querySelector(".flash")||{textContent:""}).textContent.includes("Created advanced_analytics")`)

	b.open(analyticsPath)
	b.waitHeading("Advanced analytics")
	if rev := b.eval(`document.querySelector("#revenue").textContent`); !strings.HasPrefix(rev, "€ ") || !strings.Contains(rev, ".") {
		t.Errorf("revenue reads %q, want euros and cents", rev)
	}
	if axis := b.eval(`Array.from(document.querySelectorAll("svg.chart")[1].querySelectorAll("text.axis")).map(e => e.textContent).join("|")`); !strings.Contains(axis, " %") || strings.Contains(axis, "0.0 %|0.0 %") {
		t.Errorf("error-rate axis: %s", axis)
	}
	rows := b.eval(`Array.from(document.querySelectorAll("#recent-events tbody tr")).map(r => r.querySelector(".type").innerText + " | " + r.querySelector(".what").firstChild.textContent.trim()).join("\n")`)
	for _, want := range []string{"security_alert | failed login burst after 6 failures from 192.0.2.7", "error | server_error (503) on POST /api/v1/orders",
		"user_login | signed in", "api_request | GET /api/v1/menu_items"} {
		if !strings.Contains(rows, want) {
			t.Errorf("events table lacks %q:\n%s", want, rows)
		}
	}
	if open := b.eval(`String(document.querySelector("#recent-events details").open)`); open != "false" {
		t.Error("raw JSON shown before asked for")
	}
	b.do(chromedp.Click(chromedp.CSS("#recent-events details summary")))
	if raw := b.eval(`document.querySelector("#recent-events details pre").innerText`); !strings.HasPrefix(raw, "{") {
		t.Errorf("details toggle shows %q", raw)
	}
	b.shot("analytics-advanced-details-open-desktop")
	older := b.eval(`document.querySelector("#older-events").getAttribute("href")`)
	if !strings.Contains(older, "before=") || strings.Contains(older, "offset") || strings.Contains(older, "page=") {
		t.Errorf("older-events link %q is not a cursor", older)
	}
	first := b.eval(`document.querySelector("#recent-events tbody tr:last-child time").getAttribute("datetime")`)
	b.do(chromedp.Click(chromedp.CSS("#older-events")))
	b.waitFor("second page", `location.search.includes("before=")`)
	b.waitHeading("Advanced analytics")
	// The heading is parsed before the table below it arrives.
	b.waitFor("second page's events", `document.querySelector("#recent-events tbody tr time") !== null`)
	if next := b.eval(`document.querySelector("#recent-events tbody tr time").getAttribute("datetime")`); next > first {
		t.Errorf("the next page starts at %s, after the previous page's last event %s", next, first)
	}
	b.shot("analytics-advanced-page2-desktop")

	pages = []struct{ name, path, heading string }{
		{"home", "/console/", "Restaurants"},
		{"analytics-advanced", analyticsPath, "Advanced analytics"},
		{"analytics-advanced-page2", analyticsPath + older, "Advanced analytics"},
	}
	check(1280, "desktop")
	b.do(chromedp.EmulateViewport(390, 844))
	check(390, "phone")
	b.open(analyticsPath)
	b.waitHeading("Advanced analytics")
	b.do(chromedp.Click(chromedp.CSS("#recent-events details summary")))
	if w, _ := strconv.Atoi(b.eval(`String(document.documentElement.scrollWidth)`)); w > 390 {
		t.Errorf("with the details open the phone page is %d px wide", w)
	}
	b.shot("analytics-advanced-details-open-phone")
}
