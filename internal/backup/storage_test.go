package backup_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/shimizu-tech/ordersuite/internal/backup"
	"github.com/shimizu-tech/ordersuite/internal/backup/archive"
)

// newFakeS3 starts an in-process S3 server on loopback with one bucket.
func newFakeS3(t testing.TB, prefix string) *backup.S3 {
	t.Helper()
	be := s3mem.New()
	if err := be.CreateBucket("backups"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(be).Server())
	t.Cleanup(srv.Close)
	s, err := backup.NewS3(backup.S3Config{Endpoint: srv.URL, Bucket: "backups", Prefix: prefix, AccessKey: "test", SecretKey: "test-secret", PathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestStorageBehaviour runs one behaviour suite on every kind of destination.
func TestStorageBehaviour(t *testing.T) {
	t.Parallel()
	kinds := map[string]func(t *testing.T) backup.Storage{
		"dir": func(t *testing.T) backup.Storage { return backup.Dir{Path: t.TempDir()} },
		"s3":  func(t *testing.T) backup.Storage { return newFakeS3(t, "ordersuite/backups") },
		"mirror": func(t *testing.T) backup.Storage {
			return backup.Mirror{backup.Dir{Path: t.TempDir()}, newFakeS3(t, "")}
		},
	}
	for kind, mk := range kinds {
		t.Run(kind, func(t *testing.T) {
			st := mk(t)
			ctx := context.Background()
			name := archive.ExportID("01960000-0000-7000-8000-000000000001", mustTime(t)) + ".zip"
			payload := bytes.Repeat([]byte("archive bytes "), 1000)
			if err := st.Put(ctx, name, bytes.NewReader(payload)); err != nil {
				t.Fatal(err)
			}
			if err := st.Put(ctx, "../escape.zip", bytes.NewReader(payload)); err == nil {
				t.Error("stored under an unsafe name")
			}
			objs, err := st.List(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(objs) != 1 || objs[0].Name != name || objs[0].Size != int64(len(payload)) {
				t.Fatalf("list: %+v", objs)
			}
			rc, err := st.Get(ctx, name)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(rc)
			rc.Close()
			if !bytes.Equal(got, payload) {
				t.Error("read back different bytes")
			}
			other := archive.ExportID("01960000-0000-7000-8000-000000000002", mustTime(t)) + ".zip"
			if _, err := st.Get(ctx, other); !errors.Is(err, backup.ErrNotStored) {
				t.Errorf("get of a missing archive: %v", err)
			}
			if err := st.Delete(ctx, name); err != nil {
				t.Fatal(err)
			}
			if err := st.Delete(ctx, name); !errors.Is(err, backup.ErrNotStored) {
				t.Errorf("second delete: %v", err)
			}
			if objs, _ := st.List(ctx); len(objs) != 0 {
				t.Errorf("after delete: %+v", objs)
			}
		})
	}
}

// TestRoundTripThroughS3: export to S3 and a local mirror, lose the local
// copy, restore from S3.
func TestRoundTripThroughS3(t *testing.T) {
	t.Parallel()
	s := newService(t)
	ctx := context.Background()
	local := s.Storage.(backup.Dir)
	remote := newFakeS3(t, "prod")
	s.Storage = backup.Mirror{local, remote}
	src := seedTenant(t, s.DB, "Cloud Kitchen", 100)
	b, err := s.Export(ctx, src.ID, "tester", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := local.Delete(ctx, b.File); err != nil {
		t.Fatal(err)
	}
	list, err := s.List(ctx, src.ID)
	if err != nil || len(list) != 1 || list[0].Size != b.Size {
		t.Fatalf("list after losing the local copy: %+v %v", list, err)
	}
	stats, err := s.Restore(ctx, b.ID, backup.ImportOptions{NewName: "From S3"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	compareTenants(t, s.DB, src.ID, stats.RestaurantID, "name")
}

func mustTime(t testing.TB) time.Time {
	t.Helper()
	return time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC)
}
