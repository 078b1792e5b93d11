package cli_test

import (
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/menu"
	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/storetest"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// TestPointInTimeCommands: restore diff names what a deletion changed, and
// restore point-in-time brings the restaurant back as it was before it,
// into a new restaurant and in place; a moment outside the chain is refused.
func TestPointInTimeCommands(t *testing.T) {
	dbURL, db := storetest.OpenWithURL(t)
	ctx := context.Background()
	r, err := db.CreateRestaurant(ctx, "Undo Cafe", "UC")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "backups")
	if out, code := runCLI(t, dbURL, dir, "backup", "tenant", r.ID); code != 0 {
		t.Fatalf("backup tenant: %s", out)
	}
	tctx := tenancy.WithTenant(ctx, r.ID)
	cat, err := store.Create(tctx, db, store.MenuCategories, menu.Category{CategoryFields: menu.CategoryFields{Name: "Mains"}})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	moment := time.Now().UTC().Format(time.RFC3339Nano)
	time.Sleep(5 * time.Millisecond)
	if err := store.Delete(tctx, db, store.MenuCategories, cat.ID); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Format(time.RFC3339Nano)

	out, code := runCLI(t, dbURL, dir, "restore", "diff", r.ID, "--from", moment, "--to", now)
	if code != 0 || !regexp.MustCompile(`menu_categories\s+0\s+0\s+1`).MatchString(out) || !strings.Contains(out, cat.ID) {
		t.Fatalf("restore diff: %d %s", code, out)
	}
	out, code = runCLI(t, dbURL, dir, "restore", "point-in-time", r.ID, "--at", moment, "--new-name", "Undo Cafe (14:31)")
	if code != 0 {
		t.Fatalf("restore point-in-time: %d %s", code, out)
	}
	newID := regexp.MustCompile(`into restaurant (\S+):`).FindStringSubmatch(out)
	if newID == nil {
		t.Fatalf("no restaurant in %q", out)
	}
	if _, err := store.Get(tenancy.WithTenant(ctx, newID[1]), db, store.MenuCategories, cat.ID); err != nil {
		t.Errorf("the restored restaurant lacks the category deleted after the moment: %v", err)
	}
	if out, code := runCLI(t, dbURL, dir, "restore", "point-in-time", r.ID, "--at", moment, "--replace"); code != 0 {
		t.Fatalf("restore point-in-time --replace: %d %s", code, out)
	}
	if _, err := store.Get(tctx, db, store.MenuCategories, cat.ID); err != nil {
		t.Errorf("the restaurant restored in place lacks the category: %v", err)
	}
	for _, args := range [][]string{
		{"restore", "point-in-time", r.ID, "--at", time.Now().Add(time.Hour).UTC().Format(time.RFC3339)},
		{"restore", "point-in-time", r.ID, "--at", "yesterday"},
		{"restore", "point-in-time", r.ID},
		{"restore", "diff", r.ID, "--from", moment},
	} {
		if out, code := runCLI(t, dbURL, dir, args...); code == 0 {
			t.Errorf("%v succeeded: %s", args, out)
		}
	}
}
