package console_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/backup/changelog"
	"github.com/shimizu-tech/ordersuite/internal/menu"
	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// TestPointInTimePages: the backup page shows the recovery chain, restores
// to a moment as a job into a new restaurant, shows what changed between
// two moments, and refuses a moment in the future naming it.
func TestPointInTimePages(t *testing.T) {
	e := newEnv(t)
	e.startJobs()
	ctx := context.Background()
	if _, err := e.backups.Export(ctx, e.A.ID, "tester", nil); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // the moment is after the backup's second
	tctx := tenancy.WithTenant(ctx, e.A.ID)
	cat, err := store.Create(tctx, e.db, store.MenuCategories, menu.Category{CategoryFields: menu.CategoryFields{Name: "Specials"}})
	if err != nil {
		t.Fatal(err)
	}
	from := time.Now().UTC().Add(-time.Second)
	if _, err := store.Create(tctx, e.db, store.MenuItems, menu.Item{ItemFields: menu.ItemFields{CategoryID: cat.ID, Name: "Uni", PriceCents: 1800, Available: true}}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond)
	at := time.Now().UTC()
	if _, err := (&changelog.Shipper{DB: e.db, Objects: e.backups.ChangeObjects()}).Ship(ctx); err != nil {
		t.Fatal(err)
	}

	b := e.browser()
	b.login("root@platform.test")
	base := tenantPath(e.A.ID, "/backups")
	p := b.get(base)
	if p.Status != 200 || !strings.Contains(p.Body, `id="chain"`) || !strings.Contains(p.Body, "Restorable from") || !strings.Contains(p.Body, `id="pitr-form"`) {
		t.Fatalf("backups page: %d\n%s", p.Status, p.Body)
	}

	// What changed: the category and the item.
	q := url.Values{"diff_from": {from.Format("2006-01-02T15:04:05")}, "diff_to": {at.Add(time.Second).Format("2006-01-02T15:04:05")}}
	p = b.get(base + "?" + q.Encode())
	if p.Status != 200 || !strings.Contains(p.Body, `data-table="menu_items"`) {
		t.Fatalf("diff: %d\n%s", p.Status, p.Body)
	}
	if p = b.get(base + "?diff_from=yesterday&diff_to=now"); p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, "from") {
		t.Errorf("a bad diff moment: %d", p.Status)
	}

	// A moment in the future is a form mistake naming it.
	p = b.post(base+"/point-in-time", url.Values{"at": {time.Now().UTC().Add(time.Hour).Format("2006-01-02T15:04:05")}, "target": {"new"}})
	if p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, "in the future") {
		t.Errorf("a moment in the future: %d\n%s", p.Status, p.Body)
	}
	// Replacing needs the box ticked.
	p = b.post(base+"/point-in-time", url.Values{"at": {at.Format(time.RFC3339Nano)}, "target": {"this"}})
	if p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, "tick the box") {
		t.Errorf("replace without confirming: %d", p.Status)
	}

	// Into a new restaurant, as a job.
	p = b.post(base+"/point-in-time", url.Values{"at": {at.Format(time.RFC3339Nano)}, "target": {"new"}, "new_name": {"Alpha at the moment"}})
	if p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Location, "/console/jobs/") {
		t.Fatalf("restore to a moment: %d %s\n%s", p.Status, p.Location, p.Body)
	}
	if s := b.waitJob(p.Location); s.Status != "complete" || !strings.Contains(string(s.Result), `"changes":`) {
		t.Fatalf("point-in-time job: %+v", s)
	}
	rs, err := e.db.Restaurants(ctx)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range rs {
		found = found || r.Name == "Alpha at the moment"
	}
	if !found {
		t.Error("the restored restaurant is not there")
	}
}
