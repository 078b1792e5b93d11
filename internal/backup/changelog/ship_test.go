package changelog_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/backup"
	"github.com/shimizu-tech/ordersuite/internal/backup/changelog"
	"github.com/shimizu-tech/ordersuite/internal/menu"
	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/storetest"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// menuTraffic makes n random menu writes in a restaurant: single-row
// inserts, updates and deletes, and transactions changing every item at
// once.
type menuTraffic struct {
	db    *store.DB
	rid   string
	cat   string
	items []string
	rng   *rand.Rand
}

func newTraffic(t testing.TB, db *store.DB, name string, seed uint64) *menuTraffic {
	t.Helper()
	ctx := context.Background()
	r, err := db.CreateRestaurant(ctx, name, fmt.Sprintf("T%d", seed))
	if err != nil {
		t.Fatal(err)
	}
	cat, err := store.Create(tenancy.WithTenant(ctx, r.ID), db, store.MenuCategories, menu.Category{CategoryFields: menu.CategoryFields{Name: "Mains"}})
	if err != nil {
		t.Fatal(err)
	}
	return &menuTraffic{db: db, rid: r.ID, cat: cat.ID, rng: rand.New(rand.NewPCG(seed, 7))}
}

func (m *menuTraffic) step(ctx context.Context) error {
	tctx := tenancy.WithTenant(ctx, m.rid)
	switch k := m.rng.IntN(10); {
	case k < 4 || len(m.items) == 0:
		it, err := store.Create(tctx, m.db, store.MenuItems, menu.Item{ItemFields: menu.ItemFields{CategoryID: m.cat,
			Name: fmt.Sprintf("Dish %d", m.rng.IntN(1000)), PriceCents: int64(100 + m.rng.IntN(5000)), Available: true}})
		if err == nil {
			m.items = append(m.items, it.ID)
		}
		return err
	case k < 7:
		id := m.items[m.rng.IntN(len(m.items))]
		_, err := store.Update(tctx, m.db, store.MenuItems, id, func(v *menu.Item) error {
			v.PriceCents += int64(1 + m.rng.IntN(100))
			v.Available = !v.Available
			return nil
		})
		return err
	case k < 9:
		i := m.rng.IntN(len(m.items))
		err := store.Delete(tctx, m.db, store.MenuItems, m.items[i])
		m.items = append(m.items[:i], m.items[i+1:]...)
		return err
	default:
		// One transaction, many changes.
		tx, err := m.db.SQL().BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE menu_items SET price_cents = price_cents + 1 WHERE restaurant_id = $1`, m.rid); err != nil {
			tx.Rollback()
			return err
		}
		if m.rng.IntN(2) == 0 {
			time.Sleep(time.Duration(m.rng.IntN(30)) * time.Millisecond) // spans a cut now and then
		}
		if _, err := tx.ExecContext(ctx, `UPDATE menu_categories SET name = $2 WHERE restaurant_id = $1`, m.rid, fmt.Sprintf("Mains %d", m.rng.IntN(100))); err != nil {
			tx.Rollback()
			return err
		}
		return tx.Commit()
	}
}

// shipAll ships until nothing is pending.
func shipAll(t testing.TB, s *changelog.Shipper) {
	t.Helper()
	for range 50 {
		res, err := s.Ship(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Segments) == 0 {
			return
		}
	}
	t.Fatal("shipping did not settle")
}

// checkShippedEqualsLog holds a restaurant's verified chain to the live
// log: the same changes, each once, in the same order, with the same rows.
func checkShippedEqualsLog(t *testing.T, db *store.DB, objs changelog.Objects, rid string) int {
	t.Helper()
	ctx := context.Background()
	v := &changelog.Verifier{Objects: objs}
	ch, err := v.Verify(ctx, rid)
	if err != nil || ch.Broken != nil {
		t.Fatalf("chain of %s: %v %v", rid, err, ch.Broken)
	}
	var shipped, live []string
	seen := map[int64]bool{}
	if err := v.Covering(ctx, rid, store.LogPosition{}, ch.To(), func(c store.Change) error {
		if seen[c.Seq] {
			t.Errorf("change %d shipped twice", c.Seq)
		}
		seen[c.Seq] = true
		b, _ := json.Marshal(c)
		shipped = append(shipped, string(b))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := db.ChangesSince(ctx, rid, store.LogPosition{}, ch.To(), func(c store.Change) error {
		b, _ := json.Marshal(c)
		live = append(live, string(b))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(shipped) != len(live) {
		have := map[string]bool{}
		for _, x := range shipped {
			have[x] = true
		}
		for _, x := range live {
			if !have[x] {
				t.Logf("missing %.200s", x)
			}
		}
		segs, _ := db.Segments(ctx, rid)
		for _, s := range segs {
			t.Logf("segment %d (%s, %s] floor %s more %v n %d", s.Number, s.CoversFrom.Format("15:04:05.000000"), s.CoversTo.Format("15:04:05.000000"), s.Floor.Format("15:04:05.000000"), s.More, s.Changes)
		}
		t.Fatalf("restaurant %s: %d changes shipped, the log holds %d up to %s", rid, len(shipped), len(live), ch.To())
	}
	for i := range live {
		if shipped[i] != live[i] {
			t.Fatalf("change %d differs:\nshipped %s\nlog     %s", i, shipped[i], live[i])
		}
	}
	return len(live)
}

func TestShippedChainEqualsTheLog(t *testing.T) {
	db := storetest.Open(t)
	ctx := context.Background()
	objs := (&backup.Service{DB: db, Storage: backup.Dir{Path: t.TempDir()}}).ChangeObjects()
	s := &changelog.Shipper{DB: db, Objects: objs, MaxChanges: 9}
	a, b := newTraffic(t, db, "Alpha", 1), newTraffic(t, db, "Beta", 2)
	for round := range 6 {
		for range 12 + round {
			if err := a.step(ctx); err != nil {
				t.Fatal(err)
			}
			if err := b.step(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.Ship(ctx); err != nil {
			t.Fatal(err)
		}
	}
	shipAll(t, s)
	segs, err := db.Segments(ctx, a.rid)
	if err != nil {
		t.Fatal(err)
	}
	if len(segs) < 6 {
		t.Errorf("%d segments of %s, want several (size bound 9)", len(segs), a.rid)
	}
	for _, seg := range segs {
		if seg.Changes > 9 && seg.Changes > 0 {
			// Only a transaction larger than the bound makes one larger.
			t.Logf("segment %d holds %d changes (one large transaction)", seg.Number, seg.Changes)
		}
	}
	for _, tr := range []*menuTraffic{a, b} {
		if n := checkShippedEqualsLog(t, db, objs, tr.rid); n < 50 {
			t.Errorf("only %d changes of %s", n, tr.rid)
		}
	}
	// Nothing new: nothing shipped.
	res, err := s.Ship(ctx)
	if err != nil || len(res.Segments) != 0 {
		t.Errorf("a run with nothing new shipped %d segments (%v)", len(res.Segments), err)
	}
}

// TestShippingTwiceAfterACrashShipsTheSameNumber: a segment stored but not
// recorded (the instance died between) is shipped again under the same
// number, and the chain holds every change once.
func TestShippingAfterACrashReshipsTheSameNumber(t *testing.T) {
	db := storetest.Open(t)
	ctx := context.Background()
	dir := t.TempDir()
	objs := (&backup.Service{DB: db, Storage: backup.Dir{Path: dir}}).ChangeObjects()
	a := newTraffic(t, db, "Crashy", 3)
	for range 20 {
		if err := a.step(ctx); err != nil {
			t.Fatal(err)
		}
	}
	shipAll(t, &changelog.Shipper{DB: db, Objects: objs})
	for range 20 {
		if err := a.step(ctx); err != nil {
			t.Fatal(err)
		}
	}
	crash := errors.New("killed")
	s := changelog.CrashingShipper(db, objs, crash)
	if _, err := s.Ship(ctx); !errors.Is(err, crash) {
		t.Fatalf("ship: %v", err)
	}
	stored, _ := objs.ListSegments(ctx, a.rid)
	recorded, _ := db.Segments(ctx, a.rid)
	if len(stored) != len(recorded)+1 {
		t.Fatalf("%d stored, %d recorded: want one stored and not recorded", len(stored), len(recorded))
	}
	for range 5 {
		if err := a.step(ctx); err != nil {
			t.Fatal(err)
		}
	}
	shipAll(t, &changelog.Shipper{DB: db, Objects: objs})
	recorded, _ = db.Segments(ctx, a.rid)
	if len(recorded) != len(stored) {
		t.Errorf("after the crash: %d segments recorded, want %d (the same number shipped again)", len(recorded), len(stored))
	}
	checkShippedEqualsLog(t, db, objs, a.rid)
}

// TestTwoInstancesShipEachChangeOnce: two instances on one PostgreSQL ship
// at the same time as writers write; each change is in exactly one segment.
func TestTwoInstancesShipEachChangeOnce(t *testing.T) {
	if storetest.URL() == "" {
		t.Skip("several instances on one database need PostgreSQL (TEST_DATABASE_URL)")
	}
	url, db := storetest.OpenWithURL(t)
	ctx := context.Background()
	other, err := store.Open(ctx, url, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	dir := t.TempDir()
	objsA := (&backup.Service{DB: db, Storage: backup.Dir{Path: dir}}).ChangeObjects()
	objsB := (&backup.Service{DB: other, Storage: backup.Dir{Path: dir}}).ChangeObjects()
	shippers := []*changelog.Shipper{{DB: db, Objects: objsA, MaxChanges: 25}, {DB: other, Objects: objsB, MaxChanges: 25}}
	var traffic []*menuTraffic
	for i := range 3 {
		traffic = append(traffic, newTraffic(t, db, fmt.Sprintf("Busy %d", i), uint64(10+i)))
	}
	// The writers write until each instance has shipped segments of their
	// changes while they wrote (at most 30 s).
	writeCtx, stop := context.WithTimeout(ctx, 30*time.Second)
	defer stop()
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for _, tr := range traffic {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for writeCtx.Err() == nil {
				if err := tr.step(ctx); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	var shipped [2]atomic.Int64
	for i, s := range shippers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for writeCtx.Err() == nil {
				res, err := s.Ship(ctx)
				if err != nil && !errors.Is(err, store.ErrLockHeld) {
					errs <- err
					return
				}
				shipped[i].Add(int64(len(res.Segments)))
				if shipped[0].Load() >= 4 && shipped[1].Load() >= 4 {
					stop()
				}
				time.Sleep(time.Duration(rand.IntN(20)) * time.Millisecond)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	shipAll(t, shippers[1])
	t.Logf("segments shipped by each instance while the writers wrote: %d, %d", shipped[0].Load(), shipped[1].Load())
	if shipped[0].Load() < 4 || shipped[1].Load() < 4 {
		t.Errorf("in 30 s the instances shipped %d and %d segments", shipped[0].Load(), shipped[1].Load())
	}
	total := 0
	for _, tr := range traffic {
		total += checkShippedEqualsLog(t, db, objsA, tr.rid)
	}
	if total < 100 {
		t.Errorf("only %d changes written", total)
	}
}
