package cli_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/shimizu-tech/ordersuite/internal/cli"
	"github.com/shimizu-tech/ordersuite/internal/flags"
	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/storetest"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

func runWithDB(t *testing.T, url string, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := cli.Execute(context.Background(), append(args, "--database-url", url, "--log-level", "error"), &out, &errOut)
	return out.String(), errOut.String(), code
}

func TestFlagsCommands(t *testing.T) {
	parallel(t)
	url, db := storetest.OpenWithURL(t)
	ctx := context.Background()
	r, err := db.CreateRestaurant(ctx, "Alpha", "AA")
	if err != nil {
		t.Fatal(err)
	}
	a := tenancy.WithTenant(ctx, r.ID)
	svc := flags.New(db, flags.Options{})
	check := func(key, entity string, want bool) {
		t.Helper()
		svc.Invalidate(store.AllTenants) // another process changed the database
		if got := svc.Enabled(a, key, entity); got != want {
			t.Errorf("%s/%q = %v, want %v", key, entity, got, want)
		}
	}

	if _, stderr, code := runWithDB(t, url, "flags", "enable", "new_order_ui"); code == 0 || !strings.Contains(stderr, "--restaurant") {
		t.Errorf("enable without a scope: exit %d, %s", code, stderr)
	}
	if out, stderr, code := runWithDB(t, url, "flags", "enable", "new_order_ui", "--restaurant", r.ID); code != 0 || !strings.Contains(out, "new_order_ui") {
		t.Fatalf("enable: exit %d %s %s", code, out, stderr)
	}
	check("new_order_ui", "", true)
	if _, stderr, code := runWithDB(t, url, "flags", "set-percentage", "new_order_ui", "0", "--restaurant", r.ID); code != 0 {
		t.Fatalf("set-percentage: %s", stderr)
	}
	check("new_order_ui", "user-1", false)
	if _, _, code := runWithDB(t, url, "flags", "set-percentage", "new_order_ui", "101", "--restaurant", r.ID); code == 0 {
		t.Error("set-percentage 101 succeeded")
	}
	if _, _, code := runWithDB(t, url, "flags", "enable", "Bad Key", "--global"); code == 0 {
		t.Error("invalid key accepted")
	}
	if _, stderr, code := runWithDB(t, url, "flags", "enable", "advanced_analytics", "--global", "--percentage", "100"); code != 0 {
		t.Fatalf("enable --global: %s", stderr)
	}
	check("advanced_analytics", "user-1", true)
	if _, stderr, code := runWithDB(t, url, "flags", "disable", "advanced_analytics", "--restaurant", r.ID); code != 0 {
		t.Fatalf("disable: %s", stderr)
	}
	check("advanced_analytics", "user-1", false)

	out, _, code := runWithDB(t, url, "flags", "list", "--restaurant", r.ID)
	if code != 0 || !strings.Contains(out, "new_order_ui") || !strings.Contains(out, "0%") || !strings.Contains(out, "advanced_analytics  restaurant  false") {
		t.Errorf("list --restaurant:\n%s", out)
	}
	out, _, _ = runWithDB(t, url, "flags", "list", "--global")
	if !strings.Contains(out, "advanced_analytics  global") || strings.Contains(out, "new_order_ui") {
		t.Errorf("list --global:\n%s", out)
	}
	if _, stderr, code := runWithDB(t, url, "flags", "list", "--restaurant", store.NewID()); code == 0 || !strings.Contains(stderr, "not found") {
		t.Errorf("unknown restaurant: exit %d %s", code, stderr)
	}
	// The command line's changes are audited.
	entries, err := db.AuditLog(a, 100, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) < 3 || entries[0].ActorID != cli.CLIActor || entries[0].IP != "cli" {
		t.Errorf("audit entries: %+v", entries)
	}
}
