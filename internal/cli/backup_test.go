package cli_test

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/shimizu-tech/ordersuite/internal/cli"
	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/storetest"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// run executes the command line in-process against the test's database and
// backup directory.
func runCLI(t *testing.T, dbURL, backupDir string, args ...string) (string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	full := append([]string{"--database-url", dbURL, "--backup-dir", backupDir, "--log-level", "error"}, args...)
	code := cli.Execute(context.Background(), full, &out, &errOut)
	return out.String() + errOut.String(), code
}

func TestBackupCommands(t *testing.T) {
	parallel(t)
	dbURL, db := storetest.OpenWithURL(t)
	ctx := context.Background()
	r, err := db.CreateRestaurant(ctx, "Command Line Cafe", "CLC")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateUser(tenancy.WithTenant(ctx, r.ID), tenancy.User{Email: "a@clc.test", Role: tenancy.Admin, PasswordHash: "x"}); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "backups")

	out, code := runCLI(t, dbURL, dir, "backup", "tenant", r.ID)
	if code != 0 {
		t.Fatalf("backup tenant: %s", out)
	}
	id := regexp.MustCompile(`tenant_export_\S+`).FindString(out)
	if id == "" {
		t.Fatalf("no backup id in %q", out)
	}
	if out, code := runCLI(t, dbURL, dir, "backup", "list"); code != 0 || !strings.Contains(out, id) {
		t.Errorf("backup list: %d %s", code, out)
	}
	if out, code := runCLI(t, dbURL, dir, "backup", "validate", id); code != 0 || !strings.Contains(out, "valid") {
		t.Errorf("backup validate ID: %d %s", code, out)
	}
	if out, code := runCLI(t, dbURL, dir, "backup", "validate", filepath.Join("..", "backup", "testdata", "hostile", "wrong_checksum.zip")); code == 0 || !strings.Contains(out, "sha256") {
		t.Errorf("validating a tampered file: %d %s", code, out)
	}
	if out, code := runCLI(t, dbURL, dir, "backup", "validate", "tenant_export_nope"); code == 0 {
		t.Errorf("validating an unknown id: %s", out)
	}
	if out, code := runCLI(t, dbURL, dir, "restore", "clone", r.ID, "Cloned Cafe"); code != 0 || !strings.Contains(out, "cloned") {
		t.Errorf("restore clone: %d %s", code, out)
	}
	if out, code := runCLI(t, dbURL, dir, "restore", "from-backup", id); code != 0 {
		t.Errorf("restore from-backup: %d %s", code, out)
	}
	if out, code := runCLI(t, dbURL, dir, "restore", "from-backup", id, r.ID); code != 0 {
		t.Errorf("restore over the restaurant: %d %s", code, out)
	}
	if out, code := runCLI(t, dbURL, dir, "drill", r.ID); code != 0 || !strings.Contains(out, "RTO") || !strings.Contains(out, "OK") {
		t.Errorf("drill: %d %s", code, out)
	}
	if out, code := runCLI(t, dbURL, dir, "drill", store.NewID()); code == 0 {
		t.Errorf("drill of an unknown restaurant: %s", out)
	}
	if out, code := runCLI(t, dbURL, dir, "backup", "all"); code != 0 {
		t.Errorf("backup all: %d %s", code, out)
	}
	if out, code := runCLI(t, dbURL, dir, "backup", "cleanup", "--keep", "1"); code != 0 || !strings.Contains(out, "deleted") {
		t.Errorf("cleanup: %d %s", code, out)
	}
	if out, code := runCLI(t, dbURL, dir, "backup", "validate"); code != 0 {
		t.Errorf("validate all: %d %s", code, out)
	}
	out, code = runCLI(t, dbURL, dir, "backup", "setup-rotation")
	for _, want := range []string{"0 2 * * *", "0 3 * * 0", "0 4 1 * *", "backup cleanup --keep 5"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("setup-rotation lacks %q: %s", want, out)
		}
	}
	if out, code := runCLI(t, dbURL, dir, "emergency", "read-only", r.ID); code != 0 || !strings.Contains(out, "read_only") {
		t.Errorf("emergency read-only: %d %s", code, out)
	}
	if out, code := runCLI(t, dbURL, dir, "emergency", "revoke-tokens", r.ID); code != 0 {
		t.Errorf("revoke-tokens: %d %s", code, out)
	}
	if out, code := runCLI(t, dbURL, dir, "emergency", "restore", r.ID); code != 0 || !strings.Contains(out, "restored") {
		t.Errorf("emergency restore: %d %s", code, out)
	}
	if out, code := runCLI(t, dbURL, dir, "api-key", "create", "staging"); code != 0 || !strings.Contains(out, "osk_") {
		t.Errorf("api-key create: %d %s", code, out)
	}
	if out, code := runCLI(t, dbURL, dir, "restore", "migrate", id, "nowhere"); code == 0 {
		t.Errorf("migrate to an unknown environment: %s", out)
	}
}

// TestBackupToS3AndLocal: with a bucket configured, backups go to the
// bucket and the local directory; losing the local copy loses nothing.
func TestBackupToS3AndLocal(t *testing.T) {
	be := s3mem.New()
	if err := be.CreateBucket("ordersuite"); err != nil {
		t.Fatal(err)
	}
	s3srv := httptest.NewServer(gofakes3.New(be).Server())
	defer s3srv.Close()
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test-secret")

	dbURL, db := storetest.OpenWithURL(t)
	ctx := context.Background()
	r, err := db.CreateRestaurant(ctx, "Bucket Bistro", "BB")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "backups")
	s3 := []string{"--backup-s3-bucket", "ordersuite", "--backup-s3-endpoint", s3srv.URL, "--backup-s3-path-style", "--backup-s3-prefix", "prod"}
	out, code := runCLI(t, dbURL, dir, append(s3, "backup", "tenant", r.ID)...)
	if code != 0 {
		t.Fatalf("backup tenant: %s", out)
	}
	id := regexp.MustCompile(`tenant_export_\S+`).FindString(out)
	if err := os.Remove(filepath.Join(dir, id+".zip")); err != nil {
		t.Fatalf("no local copy: %v", err)
	}
	if out, code := runCLI(t, dbURL, dir, append(s3, "backup", "validate", id)...); code != 0 || !strings.Contains(out, "valid") {
		t.Errorf("validate from S3: %d %s", code, out)
	}
	if out, code := runCLI(t, dbURL, dir, append(s3, "restore", "from-backup", id, "--name", "From the bucket")...); code != 0 {
		t.Errorf("restore from S3: %d %s", code, out)
	}
	// Without the bucket, the backup is gone: it really was read from S3.
	if out, code := runCLI(t, dbURL, dir, "backup", "validate", id); code == 0 {
		t.Errorf("validated without the bucket: %s", out)
	}
}
