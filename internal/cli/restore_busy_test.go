package cli_test

import (
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/storetest"
)

// TestRestoreRefusedWhileAJobRestores: the command line will not restore a
// restaurant that a restore job is already working on; it names the job
// and exits non-zero. A restore into a new restaurant is not held up.
func TestRestoreRefusedWhileAJobRestores(t *testing.T) {
	parallel(t)
	dbURL, db := storetest.OpenWithURL(t)
	ctx := context.Background()
	r, err := db.CreateRestaurant(ctx, "Busy Bistro", "BB")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "backups")
	out, code := runCLI(t, dbURL, dir, "backup", "tenant", r.ID)
	if code != 0 {
		t.Fatalf("backup tenant: %s", out)
	}
	id := regexp.MustCompile(`tenant_export_\S+`).FindString(out)
	running, err := db.CreateJob(ctx, store.JobRecord{Kind: "backup.restore_latest", RestaurantID: r.ID, CreatedBy: "super_admin:someone"})
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"restore", "from-backup", id, r.ID}, {"emergency", "restore", r.ID}} {
		out, code := runCLI(t, dbURL, dir, args...)
		if code == 0 || !strings.Contains(out, running.ID) || !strings.Contains(out, "already running") {
			t.Errorf("%s while job %s restores: %d %s", strings.Join(args, " "), running.ID, code, out)
		}
	}
	if out, code := runCLI(t, dbURL, dir, "restore", "from-backup", id, "--name", "Busy Bistro (copy)"); code != 0 {
		t.Errorf("restore into a new restaurant: %d %s", code, out)
	}
}
