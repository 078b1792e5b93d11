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
	"github.com/shimizu-tech/ordersuite/internal/demo"
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
func shippedHistory(t *testing.T, s *backup.Service, steps int) (string, []recorded) {
	t.Helper()
	ctx := context.Background()
	creds, err := demo.Seed(ctx, s.DB)
	if err != nil {
		t.Fatal(err)
	}
	rid := creds.RestaurantID
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
	return rid, moments
}

// TestPointInTimeRestoreFromSegmentsAfterTheDatabaseIsLost: random traffic
// is shipped while it runs; then, on a new empty database over the same
// storage, a restore to each recorded moment from the shipped segments
// equals the restaurant as it was, row for row.
func TestPointInTimeRestoreFromSegmentsAfterTheDatabaseIsLost(t *testing.T) {
	s := newService(t)
	rid, moments := shippedHistory(t, s, 100)

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
func TestPointInTimeRestoreRefusesABrokenChain(t *testing.T) {
	for _, damage := range []string{"deleted", "altered"} {
		t.Run(damage, func(t *testing.T) {
			s := newService(t)
			rid, moments := shippedHistory(t, s, 50)
			ctx := context.Background()
			segs, err := s.DB.Segments(ctx, rid)
			if err != nil || len(segs) < 4 {
				t.Fatalf("%d segments (%v)", len(segs), err)
			}
			// A segment in the middle of the traffic after the first base,
			// and recorded moments on either side of it.
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
			file := filepath.Join(s.Storage.(backup.Dir).Path, filepath.FromSlash(changelog.SegmentName(rid, bad.Number)))
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
			lost := &backup.Service{DB: storetest.Open(t), Storage: s.Storage, AppVersion: "test", TempDir: t.TempDir()}
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
