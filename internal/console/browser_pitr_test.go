//go:build browser

package console_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/shimizu-tech/ordersuite/internal/backup/changelog"
	"github.com/shimizu-tech/ordersuite/internal/menu"
	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// TestBrowserPointInTime: the backup page's recovery chain, the diff
// between two moments and a restore to a moment as a new restaurant,
// through the page, at desktop and phone width.
func TestBrowserPointInTime(t *testing.T) {
	e := newEnv(t)
	e.startJobs()
	ctx := context.Background()
	if _, err := e.backups.Export(ctx, e.A.ID, "tester", nil); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond)
	tctx := tenancy.WithTenant(ctx, e.A.ID)
	from := time.Now().UTC().Add(-time.Second)
	cat, err := store.Create(tctx, e.db, store.MenuCategories, menu.Category{CategoryFields: menu.CategoryFields{Name: "Specials"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Create(tctx, e.db, store.MenuItems, menu.Item{ItemFields: menu.ItemFields{CategoryID: cat.ID, Name: "Uni", PriceCents: 1800, Available: true}}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond)
	at := time.Now().UTC().Truncate(time.Second)
	if _, err := (&changelog.Shipper{DB: e.db, Objects: e.backups.ChangeObjects()}).Ship(ctx); err != nil {
		t.Fatal(err)
	}

	b := newTab(t, e.srv.URL)
	b.login("root@platform.test")
	b.waitHeading("Restaurants")
	b.open("/console/t/" + e.A.ID + "/backups?diff_from=" + from.Format("2006-01-02T15:04:05") + "&diff_to=" + at.Add(time.Second).Format("2006-01-02T15:04:05"))
	b.waitHeading("Tenant backup")
	b.waitFor("the diff", `!!document.querySelector('#diff tr[data-table="menu_items"]')`)
	if chain := b.eval(`document.getElementById("chain").textContent`); !strings.Contains(chain, "Restorable from") {
		t.Errorf("chain: %q", chain)
	}
	b.do(chromedp.ScrollIntoView(chromedp.CSS("#pitr-h")))
	b.shot("40-point-in-time-desktop")

	b.do(chromedp.EmulateViewport(390, 844))
	b.open("/console/t/" + e.A.ID + "/backups?diff_from=" + from.Format("2006-01-02T15:04:05") + "&diff_to=" + at.Add(time.Second).Format("2006-01-02T15:04:05"))
	b.waitFor("the diff", `!!document.querySelector('#diff tr[data-table="menu_items"]')`)
	if w := b.eval(`String(document.documentElement.scrollWidth)`); w != "390" {
		t.Errorf("the backup page is %s px wide on a 390 px screen", w)
	}
	b.shot("41-point-in-time-390px")

	// Restore to the moment as a new restaurant through the form.
	b.do(chromedp.SetValue(chromedp.CSS("#pitr-at"), at.Format("2006-01-02T15:04:05")),
		chromedp.SendKeys(chromedp.CSS("#pitr-name"), "Alpha before lunch"))
	b.do(chromedp.Click(chromedp.CSS(`#pitr-form button[type="submit"]`)))
	b.waitFor("job page", `location.pathname.startsWith("/console/jobs/")`)
	b.waitFor("restore complete", `document.getElementById("job-status").textContent == "complete"`)
	b.shot("42-point-in-time-job-complete")
}
