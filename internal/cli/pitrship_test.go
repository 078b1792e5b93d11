package cli_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/backup"
	"github.com/shimizu-tech/ordersuite/internal/backup/changelog"
	"github.com/shimizu-tech/ordersuite/internal/menu"
	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/storetest"
	"github.com/shimizu-tech/ordersuite/internal/syncbuf"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// TestPointInTimeDrillCommand: a restaurant backed up and changed since;
// drill --point-in-time ships the log itself (no serve runs), restores
// each recorded moment from the chain, and reports RTO and RPO; backup
// list then shows the restaurant's recovery chain.
func TestPointInTimeDrillCommand(t *testing.T) {
	dbURL, db := storetest.OpenWithURL(t)
	ctx := context.Background()
	r, err := db.CreateRestaurant(ctx, "Drilled Diner", "DD")
	if err != nil {
		t.Fatal(err)
	}
	tctx := tenancy.WithTenant(ctx, r.ID)
	cat, err := store.Create(tctx, db, store.MenuCategories, menu.Category{CategoryFields: menu.CategoryFields{Name: "Mains"}})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "backups")
	if out, code := runCLI(t, dbURL, dir, "backup", "tenant", r.ID); code != 0 {
		t.Fatalf("backup tenant: %s", out)
	}
	for i := range 15 {
		if _, err := store.Create(tctx, db, store.MenuItems, menu.Item{ItemFields: menu.ItemFields{CategoryID: cat.ID,
			Name: fmt.Sprintf("Dish %d", i), PriceCents: int64(500 + i), Available: true}}); err != nil {
			t.Fatal(err)
		}
	}
	out, code := runCLI(t, dbURL, dir, "drill", "--point-in-time", r.ID, "--moments", "2", "--duration", "300ms")
	if code != 0 || !strings.Contains(out, "RPO        nothing was shipped") || strings.Count(out, "RTO") != 2 || !strings.Contains(out, "OK") {
		t.Fatalf("drill --point-in-time: %d %s", code, out)
	}
	t.Log(out)
	// Shipped now: the next drill measures the RPO.
	out, code = runCLI(t, dbURL, dir, "drill", "--point-in-time", r.ID, "--moments", "1", "--duration", "10ms")
	if code != 0 || !strings.Contains(out, " s (age of the newest shipped change") {
		t.Fatalf("second drill: %d %s", code, out)
	}
	out, code = runCLI(t, dbURL, dir, "backup", "list")
	if code != 0 || !strings.Contains(out, "Recovery chains") || !strings.Contains(out, r.ID) {
		t.Errorf("backup list: %d %s", code, out)
	}
	// Nothing left behind: the scratch restaurants are gone.
	rs, err := db.Restaurants(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range rs {
		if strings.Contains(x.Name, "scratch") {
			t.Errorf("scratch restaurant %s (%s) left behind", x.ID, x.Name)
		}
	}
}

// TestKilledShipperShipsEachChangeOnce: `backup ship-changes --every` in a
// process of its own, killed (SIGKILL) again and again while restaurants
// are written to; then one more run. Every stored segment is recorded,
// the chain of each restaurant verifies, and every change of the log is
// in exactly one segment.
func TestKilledShipperShipsEachChangeOnce(t *testing.T) {
	if os.Getenv(serveChildEnv) != "" {
		t.Skip("child process")
	}
	ctx := context.Background()
	dir := t.TempDir()
	args := append(migratedDBArgs(t), "--backup-dir", dir)
	if code, _, errOut := run(t, append([]string{"migrate"}, args...)...); code != 0 {
		t.Fatalf("migrate: %s", errOut)
	}
	db, err := store.Open(ctx, args[1], store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var rids []string
	var cats []string
	for i := range 3 {
		r, err := db.CreateRestaurant(ctx, fmt.Sprintf("Killed Shipper %d", i), fmt.Sprintf("KS%d", i))
		if err != nil {
			t.Fatal(err)
		}
		cat, err := store.Create(tenancy.WithTenant(ctx, r.ID), db, store.MenuCategories, menu.Category{CategoryFields: menu.CategoryFields{Name: "Mains"}})
		if err != nil {
			t.Fatal(err)
		}
		rids, cats = append(rids, r.ID), append(cats, cat.ID)
	}
	writeCtx, stopWriting := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for i, rid := range rids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tctx := tenancy.WithTenant(ctx, rid)
			for n := 0; writeCtx.Err() == nil; n++ {
				it, err := store.Create(tctx, db, store.MenuItems, menu.Item{ItemFields: menu.ItemFields{CategoryID: cats[i], Name: fmt.Sprintf("Dish %d", n), PriceCents: 500, Available: true}})
				if err == nil && n%3 == 0 {
					_, err = store.Update(tctx, db, store.MenuItems, it.ID, func(v *menu.Item) error { v.PriceCents++; return nil })
				}
				if err != nil {
					t.Error(err)
					return
				}
				time.Sleep(time.Millisecond)
			}
		}()
	}
	for round := range 4 {
		child := exec.Command(os.Args[0], "-test.run=^TestServeChild$")
		child.Env = append(os.Environ(), serveChildEnv+"="+strings.Join(append([]string{"backup", "ship-changes", "--every", "1ms", "--segment-changes", "5"}, args...), "\n"))
		var stderr syncbuf.Buffer
		child.Stderr = &stderr
		if err := child.Start(); err != nil {
			t.Fatal(err)
		}
		// Killed at a random moment once it ships.
		before, _ := db.Segments(ctx, "")
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
			if now, _ := db.Segments(ctx, ""); len(now) > len(before) {
				break
			}
		}
		time.Sleep(time.Duration(rand.IntN(300)) * time.Millisecond)
		if err := child.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		child.Wait() //nolint:errcheck // killed
		if strings.Contains(stderr.String(), "panic") {
			t.Fatalf("round %d: %s", round, stderr.String())
		}
		recorded, _ := db.Segments(ctx, "")
		t.Logf("round %d: %d segments recorded", round, len(recorded))
	}
	stopWriting()
	wg.Wait()
	if code, out, errOut := run(t, append([]string{"backup", "ship-changes"}, args...)...); code != 0 {
		t.Fatalf("ship-changes: %s %s", out, errOut)
	}
	svc := &backup.Service{DB: db, Storage: backup.Dir{Path: dir}}
	objs := svc.ChangeObjects()
	v := &changelog.Verifier{Objects: objs, Recorded: func(ctx context.Context, rid string) (map[int64]string, error) {
		segs, err := db.Segments(ctx, rid)
		out := map[int64]string{}
		for _, s := range segs {
			out[s.Number] = s.SHA256
		}
		return out, err
	}}
	for _, rid := range rids {
		ch, err := v.Verify(ctx, rid)
		if err != nil || ch.Broken != nil {
			t.Fatalf("chain of %s: %v %v", rid, err, ch.Broken)
		}
		stored, _ := objs.ListSegments(ctx, rid)
		recorded, _ := db.Segments(ctx, rid)
		if len(stored) != len(recorded) {
			t.Errorf("%s: %d segments stored, %d recorded", rid, len(stored), len(recorded))
		}
		seen := map[int64]bool{}
		shipped := 0
		if err := v.Covering(ctx, rid, store.LogPosition{}, ch.To(), func(c store.Change) error {
			if seen[c.Seq] {
				t.Errorf("%s: change %d shipped twice", rid, c.Seq)
			}
			seen[c.Seq] = true
			shipped++
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		live := 0
		if err := db.ChangesSince(ctx, rid, store.LogPosition{}, ch.To(), func(c store.Change) error {
			live++
			if !seen[c.Seq] {
				t.Errorf("%s: change %d not shipped", rid, c.Seq)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d segments, %d changes shipped, %d in the log", rid, len(recorded), shipped, live)
		if shipped != live || live < 50 {
			t.Errorf("%s: %d shipped, %d in the log", rid, shipped, live)
		}
	}
}
