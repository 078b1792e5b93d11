package cli

import (
	"bytes"
	"context"
	"net"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/shimizu-tech/ordersuite/internal/metrics"
	"github.com/shimizu-tech/ordersuite/internal/storetest"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// TestBackupWithS3Down: S3 configured but refusing connections, the local
// directory on: backup tenant, backup list and restore from-backup work
// from the local copy, say which destination failed, and count it.
func TestBackupWithS3Down(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadS3 := "http://" + ln.Addr().String()
	ln.Close()
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test-secret")

	dbURL, db := storetest.OpenWithURL(t)
	ctx := context.Background()
	r, err := db.CreateRestaurant(ctx, "Grounded Galley", "GG")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateUser(tenancy.WithTenant(ctx, r.ID), tenancy.User{Email: "a@gg.test", Role: tenancy.Admin, PasswordHash: "x"}); err != nil {
		t.Fatal(err)
	}

	m := metrics.New()
	dir := filepath.Join(t.TempDir(), "backups")
	run := func(args ...string) (string, string, error) {
		t.Helper()
		var out, errOut bytes.Buffer
		root := newRoot(&app{metrics: m})
		root.SetArgs(append([]string{"--database-url", dbURL, "--backup-dir", dir, "--log-level", "error",
			"--backup-local", "--backup-s3-bucket", "ordersuite", "--backup-s3-endpoint", deadS3, "--backup-s3-path-style"}, args...))
		root.SetOut(&out)
		root.SetErr(&errOut)
		err := root.ExecuteContext(ctx)
		return out.String(), errOut.String(), err
	}
	counted := func() float64 { return testutil.ToFloat64(m.BackupDestinationErrors.WithLabelValues("s3")) }

	out, errOut, err := run("backup", "tenant", r.ID)
	if err != nil {
		t.Fatalf("backup tenant with S3 down: %v\n%s%s", err, out, errOut)
	}
	id := regexp.MustCompile(`tenant_export_\S+`).FindString(out)
	if id == "" || !strings.Contains(errOut, "destination s3://ordersuite failed (put)") || !strings.Contains(errOut, "connection refused") {
		t.Errorf("backup tenant did not report the failed destination: %q %q", out, errOut)
	}
	if strings.Contains(errOut, "test-secret") {
		t.Error("a credential reached the output")
	}
	n := counted()
	if n < 1 {
		t.Errorf("the failed destination was not counted: %v", n)
	}

	out, errOut, err = run("backup", "list")
	if err != nil || !strings.Contains(out, id) || !strings.Contains(out, "backup (manual)") || !strings.Contains(errOut, "failed (list)") {
		t.Errorf("backup list with S3 down: %v\n%s%s", err, out, errOut)
	}
	out, errOut, err = run("restore", "from-backup", id, "--name", "Restored while S3 is down")
	if err != nil || !strings.Contains(out, "restored "+id) {
		t.Errorf("restore from-backup with S3 down: %v\n%s%s", err, out, errOut)
	}
	if counted() <= n {
		t.Error("failed listings were not counted")
	}
}
