package backup_test

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/shimizu-tech/ordersuite/internal/backup"
	"github.com/shimizu-tech/ordersuite/internal/metrics"
)

// closedPort returns a loopback address nothing listens on: a connection
// to it is refused at once.
func closedPort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// deadS3 is an S3 destination whose server is down.
func deadS3(t testing.TB) *backup.S3 {
	t.Helper()
	s, err := backup.NewS3(backup.S3Config{Endpoint: "http://" + closedPort(t), Bucket: "backups", AccessKey: "test", SecretKey: "test-secret", PathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestDeadDestinationFailsAlone: with S3 down, a backup is written to the
// local directory and succeeds, naming the failed destination; listing,
// validating, restoring and deleting use the local copy; every failure is
// counted under the destination's kind.
func TestDeadDestinationFailsAlone(t *testing.T) {
	t.Parallel()
	s := newService(t)
	s.Metrics = metrics.New()
	local := s.Storage.(backup.Dir)
	s.Storage = backup.Mirror{local, deadS3(t)}
	ctx := context.Background()
	src := seedTenant(t, s.DB, "Offline Oven", 10)
	failures := func() float64 { return testutil.ToFloat64(s.Metrics.BackupDestinationErrors.WithLabelValues("s3")) }

	b, err := s.Export(ctx, src.ID, "tester", nil)
	if err != nil {
		t.Fatalf("backup with S3 down: %v", err)
	}
	if len(b.FailedDestinations) != 1 || b.FailedDestinations[0].Destination != "s3" || b.FailedDestinations[0].Location != "s3://backups" ||
		!strings.Contains(b.FailedDestinations[0].Error, "connection refused") {
		t.Errorf("failed destinations: %+v", b.FailedDestinations)
	}
	if strings.Contains(b.FailedDestinations[0].Error, "test-secret") {
		t.Error("a credential reached the report")
	}
	if _, err := os.Stat(filepath.Join(local.Path, b.File)); err != nil {
		t.Errorf("no local copy: %v", err)
	}
	afterBackup := failures()
	if afterBackup < 1 {
		t.Errorf("the failed destination was not counted: %v", afterBackup)
	}
	if n := testutil.ToFloat64(s.Metrics.BackupDestinationErrors.WithLabelValues("local")); n != 0 {
		t.Errorf("local counted %v failures", n)
	}

	list, failed, err := s.Catalog(ctx, src.ID)
	if err != nil || len(list) != 1 || list[0].ID != b.ID || len(failed) != 1 || failed[0].Op != "list" {
		t.Fatalf("list with S3 down: %v %+v %v", ids(list), failed, err)
	}
	if p := list[0].Provenance; p == nil || p.Reason != backup.ReasonManual {
		t.Errorf("provenance with S3 down: %+v", p)
	}
	if rep, err := s.Validate(ctx, b.ID); err != nil || !rep.Valid {
		t.Errorf("validate with S3 down: %v %v", rep.Problems, err)
	}
	stats, err := s.Restore(ctx, b.ID, backup.ImportOptions{NewName: "Restored offline"}, nil)
	if err != nil {
		t.Fatalf("restore with S3 down: %v", err)
	}
	compareTenants(t, s.DB, src.ID, stats.RestaurantID, "name")
	if failures() <= afterBackup {
		t.Error("failed listings were not counted")
	}
	if err := s.Delete(ctx, b.ID); err != nil {
		t.Errorf("delete with S3 down: %v", err)
	}
	if _, err := os.Stat(filepath.Join(local.Path, b.File)); !os.IsNotExist(err) {
		t.Errorf("local copy not deleted: %v", err)
	}

	// Every destination down: the backup fails.
	s.Storage = backup.Mirror{deadS3(t)}
	if _, err := s.Export(ctx, src.ID, "tester", nil); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("backup with every destination down: %v", err)
	}
}

// TestMirrorListsWhatAnswers: a listing is the union of the destinations
// that answer, with the others reported; it fails only when none answers.
func TestMirrorListsWhatAnswers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	local := backup.Dir{Path: t.TempDir()}
	name := "tenant_export_01960000-0000-7000-8000-000000000001_20261123020000.zip"
	if err := local.Put(ctx, name, bytes.NewReader([]byte("x"))); err != nil {
		t.Fatal(err)
	}
	objs, err := backup.Mirror{deadS3(t), local}.List(ctx)
	de, ok := err.(*backup.DestinationErrors)
	if !ok || de.Succeeded != 1 || len(de.Failures) != 1 || len(objs) != 1 || objs[0].Name != name {
		t.Errorf("list: %v %v", objs, err)
	}
	rc, err := backup.Mirror{deadS3(t), local}.Get(ctx, name)
	if rc == nil {
		t.Fatalf("get from the destination that answers: %v", err)
	}
	rc.Close()
	if _, err := (backup.Mirror{deadS3(t)}).List(ctx); err == nil {
		t.Error("a listing with no destination answering succeeded")
	}
}
