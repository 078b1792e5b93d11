package cli_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shimizu-tech/ordersuite/internal/menu"
	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/storetest"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// TestPointInTimeDrillCommand: a restaurant backed up and changed since;
// drill --point-in-time ships the log itself (no serve runs), restores
// each recorded moment from the chain, and reports RTO and RPO; backup
// list then shows the restaurant's recovery chain.
func TestPointInTimeDrillCommand(t *testing.T) {
	dbURL, db := storetest.OpenWithURL(t)
	ctx := context.Background()
	r, err := db.CreateRestaurant(ctx, "Drilled Diner", "DD")
	if err != nil {
		t.Fatal(err)
	}
	tctx := tenancy.WithTenant(ctx, r.ID)
	cat, err := store.Create(tctx, db, store.MenuCategories, menu.Category{CategoryFields: menu.CategoryFields{Name: "Mains"}})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "backups")
	if out, code := runCLI(t, dbURL, dir, "backup", "tenant", r.ID); code != 0 {
		t.Fatalf("backup tenant: %s", out)
	}
	for i := range 15 {
		if _, err := store.Create(tctx, db, store.MenuItems, menu.Item{ItemFields: menu.ItemFields{CategoryID: cat.ID,
			Name: fmt.Sprintf("Dish %d", i), PriceCents: int64(500 + i), Available: true}}); err != nil {
			t.Fatal(err)
		}
	}
	out, code := runCLI(t, dbURL, dir, "drill", "--point-in-time", r.ID, "--moments", "2", "--duration", "300ms")
	if code != 0 || !strings.Contains(out, "RPO        nothing was shipped") || strings.Count(out, "RTO") != 2 || !strings.Contains(out, "OK") {
		t.Fatalf("drill --point-in-time: %d %s", code, out)
	}
	t.Log(out)
	// Shipped now: the next drill measures the RPO.
	out, code = runCLI(t, dbURL, dir, "drill", "--point-in-time", r.ID, "--moments", "1", "--duration", "10ms")
	if code != 0 || !strings.Contains(out, " s (age of the newest shipped change") {
		t.Fatalf("second drill: %d %s", code, out)
	}
	out, code = runCLI(t, dbURL, dir, "backup", "list")
	if code != 0 || !strings.Contains(out, "Recovery chains") || !strings.Contains(out, r.ID) {
		t.Errorf("backup list: %d %s", code, out)
	}
	// Nothing left behind: the scratch restaurants are gone.
	rs, err := db.Restaurants(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range rs {
		if strings.Contains(x.Name, "scratch") {
			t.Errorf("scratch restaurant %s (%s) left behind", x.ID, x.Name)
		}
	}
}
