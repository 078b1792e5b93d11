package backup_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/backup"
	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/storetest"
)

// TestRecoveryNeedsOneConnection: export, validation, restore (as new and
// over the restaurant), clone and drill each finish while all but one of
// the pool's connections are held elsewhere. One that asked the pool for a
// second connection inside its transaction would wait for connections
// that, under load, are requests queued on that transaction's locks; a
// drill that read its two restaurants on two connections would wait for
// the second as long as the pool is busy, and four drills at once on a
// pool of four would wait for each other for ever. (A point-in-time
// restore reads the log on a second connection, taken before its
// transaction: TestPointInTimeRestoreBesideAWriter.)
func TestRecoveryNeedsOneConnection(t *testing.T) {
	t.Parallel()
	s, creds := newDemoService(t, 2)
	ctx := context.Background()
	rid := creds.RestaurantID
	size := storetest.PoolSize(s.DB)
	var b backup.Backup
	steps := []struct {
		name string
		run  func() error
	}{
		{"export", func() (err error) { b, err = s.Export(ctx, rid, "tester", nil); return err }},
		{"validate", func() error { _, err := s.Validate(ctx, b.ID); return err }},
		{"restore as new", func() error { _, err := s.Restore(ctx, b.ID, backup.ImportOptions{}, nil); return err }},
		{"restore over the restaurant", func() error {
			_, err := s.Restore(ctx, b.ID, backup.ImportOptions{TargetID: rid}, nil)
			return err
		}},
		{"clone", func() error { _, err := s.Clone(ctx, rid, "Pool Clone", "tester", "", nil); return err }},
		{"drill", func() error {
			d, err := s.Drill(ctx, rid, nil)
			if err == nil && !d.OK() {
				err = fmt.Errorf("drill found differences: %+v", d)
			}
			return err
		}},
	}
	for _, step := range steps {
		release := storetest.HoldConnections(t, s.DB, size-1)
		done := make(chan error, 1)
		go func() { done <- step.run() }()
		var err error
		select {
		case err = <-done:
		case <-time.After(60 * time.Second):
			t.Errorf("%s did not finish on the one free connection: it waits for another", step.name)
			release()
			err = <-done
		}
		release()
		if err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
	}
}

// TestPointInTimeRestoreBesideAWriter: a point-in-time restore takes the
// connection it reads the change log on before its transaction holds the
// write lock. Two connections are left free and a writer takes one whenever
// it can: had the restore asked for its second connection inside its
// transaction, the writer would hold the last one while waiting for the
// restore's lock, and SQLite's busy timeout would fail it 10 s later.
func TestPointInTimeRestoreBesideAWriter(t *testing.T) {
	t.Parallel()
	s, creds := newDemoService(t, 2)
	ctx := context.Background()
	rid := creds.RestaurantID
	if _, err := s.Export(ctx, rid, "tester", nil); err != nil {
		t.Fatal(err)
	}
	at := time.Now()
	size := storetest.PoolSize(s.DB)
	storetest.HoldConnections(t, s.DB, size-2)
	stop := make(chan struct{})
	writerDone := make(chan error, 1)
	writes := 0
	go func() {
		for {
			select {
			case <-stop:
				writerDone <- nil
				return
			default:
			}
			err := s.DB.InsertEvents(ctx, []store.TenantEvent{{RestaurantID: rid, Type: "api_request", Data: []byte(`{"path":"/x"}`)}})
			if err != nil {
				writerDone <- err
				return
			}
			writes++
		}
	}()
	res, err := s.RestorePointInTime(ctx, rid, backup.PointInTimeOptions{At: at}, nil)
	close(stop)
	if werr := <-writerDone; werr != nil {
		t.Errorf("a write beside the restore: %v", werr)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("restored into %s with %d writes beside it", res.RestaurantID, writes)
}
