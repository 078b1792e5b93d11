package backup_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/apperr"
	"github.com/shimizu-tech/ordersuite/internal/backup"
	"github.com/shimizu-tech/ordersuite/internal/backup/changelog"
	"github.com/shimizu-tech/ordersuite/internal/payments"
	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/storetest"
)

type recorded struct {
	at    time.Time
	state map[string]string
}

// shippedHistory runs random traffic on the demo restaurant with two full
// backups, shipping the change log as it goes (small segments, so the
// chain is long), and records the restaurant at random moments.
func shippedHistory(t *testing.T, steps int) (*backup.Service, string, []recorded) {
	t.Helper()
	ctx := context.Background()
	s, rid := newSmallDemoService(t)
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	tr := &traffic{t: t, db: s.DB, rid: rid, rng: rand.New(rand.NewPCG(seed, 16)), gw: &payments.TestGateway{}, ops: map[string]int{}}
	shipper := &changelog.Shipper{DB: s.DB, Objects: s.ChangeObjects(), MaxChanges: 40}
	shipAll := func() {
		for range 1000 {
			res, err := shipper.Ship(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Segments) == 0 {
				return
			}
		}
	}
	shipAll() // the demo data, in many segments
	var moments []recorded
	record := func() {
		at := time.Now().UTC().Truncate(time.Microsecond)
		time.Sleep(2 * time.Millisecond)
		moments = append(moments, recorded{at: at, state: capturedState(t, s.DB, rid)})
	}
	for i := range steps {
		if i == 5 || i == steps/2 {
			if _, err := s.Export(ctx, rid, "tester", nil); err != nil {
				t.Fatal(err)
			}
			record()
		}
		tr.step()
		if i > 5 && i%7 == 3 {
			record()
		}
		if i%4 == 0 {
			if _, err := shipper.Ship(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	record()
	shipAll()
	t.Logf("operations: %v; %d moments", tr.ops, len(moments))
	return s, rid, moments
}

// TestPointInTimeRestoreFromSegmentsAfterTheDatabaseIsLost: random traffic
// is shipped while it runs; then, on a new empty database over the same
// storage, a restore to each recorded moment from the shipped segments
// equals the restaurant as it was, row for row.
func TestPointInTimeRestoreFromSegmentsAfterTheDatabaseIsLost(t *testing.T) {
	t.Parallel()
	s, rid, moments := shippedHistory(t, 100)

	lost := &backup.Service{DB: storetest.Open(t), Storage: s.Storage, AppVersion: "test", TempDir: t.TempDir()}
	lost.Changes = lost.RecoveryLog()
	ctx := context.Background()
	if _, err := lost.DB.Restaurant(ctx, rid); err == nil {
		t.Fatal("the new database holds the restaurant")
	}
	for i, m := range moments {
		res, err := lost.RestorePointInTime(ctx, rid, backup.PointInTimeOptions{At: m.at}, nil)
		if err != nil {
			t.Fatalf("moment %d (%s): %v", i, m.at, err)
		}
		got := capturedState(t, lost.DB, res.RestaurantID)
		for _, table := range store.CapturedTables() {
			if got[table] != m.state[table] {
				t.Errorf("moment %d (%s, base %s, %d changes): table %s differs:\nrestored:\n%s\nat the moment:\n%s",
					i, m.at, res.BackupID, res.Changes, table, got[table], m.state[table])
			}
		}
	}
	// Beyond what was shipped: refused, naming at.
	_, err := lost.RestorePointInTime(ctx, rid, backup.PointInTimeOptions{At: time.Now().Add(-time.Millisecond)}, nil)
	var ae *apperr.Error
	if !errors.As(err, &ae) || ae.Field != "at" || !strings.Contains(ae.Message, "latest moment") {
		t.Errorf("restore beyond the shipped log: %v", err)
	}
}

// TestPointInTimeRestoreRefusesABrokenChain: a segment in the middle of the
// chain deleted, or one byte of it altered: a restore to a moment after it
// is refused naming the segment; one to a moment before it still works.
//
// Both kinds of damage are done to copies of one shipped history's storage:
// the history is only read, each copy is damaged once.
func TestPointInTimeRestoreRefusesABrokenChain(t *testing.T) {
	t.Parallel()
	s, rid, moments := shippedHistory(t, 50)
	ctx := context.Background()
	segs, err := s.DB.Segments(ctx, rid)
	if err != nil || len(segs) < 4 {
		t.Fatalf("%d segments (%v)", len(segs), err)
	}
	// A segment in the middle of the traffic after the first base, and
	// recorded moments on either side of it.
	var candidates []store.ShippedSegment
	for _, seg := range segs {
		if !seg.CoversFrom.Before(moments[1].at) && seg.CoversTo.Before(moments[len(moments)-1].at) {
			candidates = append(candidates, seg)
		}
	}
	if len(candidates) == 0 {
		t.Fatal("no segment between two recorded moments")
	}
	bad := candidates[len(candidates)/2]
	var before, after *recorded
	for i := range moments {
		m := &moments[i]
		if !m.at.After(bad.CoversFrom) {
			before = m
		}
		if m.at.After(bad.CoversTo) && after == nil {
			after = m
		}
	}
	for _, damage := range []string{"deleted", "altered"} {
		t.Run(damage, func(t *testing.T) {
			storage := backup.Dir{Path: filepath.Join(t.TempDir(), "backups")}
			if err := os.CopyFS(storage.Path, os.DirFS(s.Storage.(backup.Dir).Path)); err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(storage.Path, filepath.FromSlash(changelog.SegmentName(rid, bad.Number)))
			var err error
			if damage == "deleted" {
				err = os.Remove(file)
			} else {
				var b []byte
				if b, err = os.ReadFile(file); err == nil {
					b[len(b)/2] ^= 0x20
					err = os.WriteFile(file, b, 0o600)
				}
			}
			if err != nil {
				t.Fatal(err)
			}
			lost := &backup.Service{DB: storetest.Open(t), Storage: storage, AppVersion: "test", TempDir: t.TempDir()}
			lost.Changes = lost.RecoveryLog()
			_, err = lost.RestorePointInTime(ctx, rid, backup.PointInTimeOptions{At: after.at}, nil)
			var ae *apperr.Error
			wantName := "segment " + itoa(bad.Number) + " of restaurant " + rid
			if !errors.As(err, &ae) || ae.Field != "at" || !strings.Contains(ae.Message, wantName) {
				t.Fatalf("restore after the %s segment: %v, want a refusal naming %q", damage, err, wantName)
			}
			t.Logf("refused: %s", ae.Message)
			res, err := lost.RestorePointInTime(ctx, rid, backup.PointInTimeOptions{At: before.at}, nil)
			if err != nil {
				t.Fatalf("restore before the %s segment: %v", damage, err)
			}
			got := capturedState(t, lost.DB, res.RestaurantID)
			for _, table := range store.CapturedTables() {
				if got[table] != before.state[table] {
					t.Errorf("restore before the %s segment: table %s differs", damage, table)
				}
			}
		})
	}
}

func itoa(n int64) string { return strconvFormat(n) }

func strconvFormat(n int64) string { return strconv.FormatInt(n, 10) }

// TestCleanupPrunesTheChainWithItsBackups: backup cleanup deletes the
// segments and live log rows only the deleted backups needed; a restore
// from the kept backup and the remaining segments still equals the
// restaurant, and backup list shows the chain from the kept backup.
func TestCleanupPrunesTheChainWithItsBackups(t *testing.T) {
	t.Parallel()
	s, rid := newSmallDemoService(t)
	s.Changes = s.RecoveryLog()
	ctx := context.Background()
	tr := &traffic{t: t, db: s.DB, rid: rid, rng: rand.New(rand.NewPCG(3, 4)), gw: &payments.TestGateway{}, ops: map[string]int{}}
	shipper := &changelog.Shipper{DB: s.DB, Objects: s.ChangeObjects(), MaxChanges: 60}
	ship := func() {
		for range 1000 {
			res, err := shipper.Ship(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Segments) == 0 {
				return
			}
		}
	}
	steps := func(n int) {
		for range n {
			tr.step()
		}
		ship()
	}
	steps(20)
	if _, err := s.Export(ctx, rid, "tester", nil); err != nil {
		t.Fatal(err)
	}
	steps(20)
	time.Sleep(1100 * time.Millisecond) // the next backup's name is a second later
	kept, err := s.Export(ctx, rid, "tester", nil)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond)
	steps(20)
	at := time.Now().UTC()
	time.Sleep(2 * time.Millisecond)
	want := capturedState(t, s.DB, rid)
	ship()

	before, _ := s.DB.Segments(ctx, rid)
	countLog := func() int {
		var n int
		if err := s.DB.SQL().QueryRowContext(ctx, `SELECT count(*) FROM tenant_changes WHERE restaurant_id = $1`, rid).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	logBefore := countLog()
	deleted, err := s.Cleanup(ctx, 1)
	if err != nil || len(deleted) != 1 {
		t.Fatalf("cleanup deleted %v (%v)", deleted, err)
	}
	after, _ := s.DB.Segments(ctx, rid)
	if len(after) == 0 || len(after) >= len(before) || after[0].Number == 1 {
		t.Fatalf("segments %d → %d (first %d): the ones before the kept backup should go", len(before), len(after), after[0].Number)
	}
	if stored, _ := s.ChangeObjects().ListSegments(ctx, rid); len(stored) != len(after) || stored[0] != after[0].Number {
		t.Errorf("stored segments %v, recorded from %d", stored, after[0].Number)
	}
	if n := countLog(); n >= logBefore {
		t.Errorf("live log rows %d → %d: the shipped rows before the kept backup should go", logBefore, n)
	}
	chains, err := s.Chains(ctx, rid, []backup.Backup{kept})
	if err != nil || len(chains) != 1 || chains[0].Earliest == nil || chains[0].Latest.Before(at) || chains[0].FirstSegment != after[0].Number {
		t.Fatalf("chains %+v (%v)", chains, err)
	}
	t.Logf("chain: %+v", chains[0])

	// The kept backup and the rest of the chain still restore, from the
	// live log and, after the database is lost, from the segments.
	res, err := s.RestorePointInTime(ctx, rid, backup.PointInTimeOptions{At: at}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := capturedState(t, s.DB, res.RestaurantID); !sameState(got, want) {
		t.Error("restore from the live log after cleanup differs")
	}
	lost := &backup.Service{DB: storetest.Open(t), Storage: s.Storage, AppVersion: "test", TempDir: t.TempDir()}
	lost.Changes = lost.RecoveryLog()
	res, err = lost.RestorePointInTime(ctx, rid, backup.PointInTimeOptions{At: at}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := capturedState(t, lost.DB, res.RestaurantID); !sameState(got, want) {
		t.Error("restore from the segments after cleanup differs")
	}
}

func sameState(a, b map[string]string) bool {
	for _, table := range store.CapturedTables() {
		if a[table] != b[table] {
			return false
		}
	}
	return true
}
