package cli_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/backup"
	"github.com/shimizu-tech/ordersuite/internal/backup/archivetest"
	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/storetest"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// TestForgedUploadsDoNotTouchGenuineBackups: with archives of a restaurant
// received that claim to be newer than its backups, backup cleanup --keep 2
// keeps both genuine backups, emergency restore uses the newest genuine
// one, and backup list shows which is which.
func TestForgedUploadsDoNotTouchGenuineBackups(t *testing.T) {
	parallel(t)
	dbURL, db := storetest.OpenWithURL(t)
	ctx := context.Background()
	r, err := db.CreateRestaurant(ctx, "Genuine Galley", "GG")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "backups")
	var genuine []string
	for range 2 {
		out, code := runCLI(t, dbURL, dir, "backup", "tenant", r.ID)
		if code != 0 {
			t.Fatalf("backup tenant: %s", out)
		}
		genuine = append(genuine, regexp.MustCompile(`tenant_export_\S+`).FindString(out))
	}

	// What POST import_tenant does with an uploaded archive.
	svc := &backup.Service{DB: db, Storage: backup.Dir{Path: dir}, AppVersion: "test", TempDir: t.TempDir()}
	opCtx := tenancy.WithPrincipal(ctx, tenancy.Principal{UserID: store.NewID(), Role: tenancy.SuperAdmin})
	var buf bytes.Buffer
	if _, err := backup.WriteArchive(ctx, db, r.ID, &buf, backup.ExportOptions{AppVersion: "test", Now: db.Now()}); err != nil {
		t.Fatal(err)
	}
	if _, rep, err := svc.Receive(opCtx, bytes.NewReader(archivetest.Redate(t, buf.Bytes(), time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)))); err != nil || rep.Valid {
		t.Fatalf("a 2030 archive was received: %v %v", rep.Valid, err)
	}
	for range 3 {
		if _, rep, err := svc.Receive(opCtx, bytes.NewReader(archivetest.Redate(t, buf.Bytes(), db.Now().Add(4*time.Minute)))); err != nil || !rep.Valid {
			t.Fatalf("receive: %v %v", rep.Problems, err)
		}
	}

	out, code := runCLI(t, dbURL, dir, "backup", "cleanup", "--keep", "2")
	if code != 0 || !strings.Contains(out, "0 backups deleted") {
		t.Errorf("backup cleanup --keep 2: %d %s", code, out)
	}
	for _, id := range genuine {
		if _, err := os.Stat(filepath.Join(dir, id+".zip")); err != nil {
			t.Errorf("genuine backup %s is gone: %v", id, err)
		}
	}
	out, code = runCLI(t, dbURL, dir, "emergency", "restore", r.ID)
	if code != 0 || !strings.Contains(out, "restored from "+genuine[1]) || strings.Contains(out, "skipped") {
		t.Errorf("emergency restore: %d %s", code, out)
	}
	out, code = runCLI(t, dbURL, dir, "backup", "list")
	if code != 0 || strings.Count(out, "received (upload)") != 3 || strings.Count(out, "backup (manual)") != 2 {
		t.Errorf("backup list: %d %s", code, out)
	}
}
