package backup_test

import (
	"context"
	"reflect"
	"slices"
	"sync"
	"testing"

	"github.com/shimizu-tech/ordersuite/internal/backup"
	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/storetest"
)

// TestTwoRestoresOfOneRestaurantTakeTurns: two restores of the same
// restaurant started at once (as the command line and a job could) both
// succeed, one after the other on the restaurant's row lock, and the
// restaurant ends up exactly as its backup — never a duplicate key.
func TestTwoRestoresOfOneRestaurantTakeTurns(t *testing.T) {
	t.Parallel()
	svc := newService(t)
	ctx := context.Background()
	r := seedTenant(t, svc.DB, "Twice Restored", storetest.Scaled(3000)) // the second waits out the first within SQLite's busy timeout
	b, err := svc.Export(ctx, r.ID, "tester", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := dump(t, svc.DB, r.ID)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, errs[i] = svc.Restore(ctx, b.ID, backup.ImportOptions{TargetID: r.ID}, nil)
		}(i)
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("restore %d: %v", i, err)
		}
	}
	got := dump(t, svc.DB, r.ID)
	for _, table := range store.TenantTables {
		if !reflect.DeepEqual(got[table], want[table]) {
			t.Errorf("%s differs from the backup after two restores (%d rows, the backup has %d)", table, len(got[table]), len(want[table]))
		}
	}
}

// TestRestoreJobKindsMatchTheStore: the store's one-restore-per-restaurant
// rule covers exactly the job kinds that replace a restaurant.
func TestRestoreJobKindsMatchTheStore(t *testing.T) {
	t.Parallel()
	want := []string{backup.KindImport, backup.KindRestoreLatest, backup.KindRestorePointInTime}
	if !slices.Equal(store.RestoreJobKinds, want) {
		t.Errorf("store.RestoreJobKinds = %v, want %v", store.RestoreJobKinds, want)
	}
}
