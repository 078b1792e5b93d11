package auth_test

import (
	"context"
	"testing"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/apperr"
	"github.com/shimizu-tech/ordersuite/internal/auth"
	"github.com/shimizu-tech/ordersuite/internal/storetest"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// TestSeenSDKKeys: a key checked once is served again without hashing it,
// and what it was found with is dropped the moment a revocation or a
// suspension is applied; while the cache is not live the database decides
// whatever was seen.
func TestSeenSDKKeys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storetest.Open(t)
	// No periodic check: the test takes the cache out of service itself.
	s := &auth.Service{DB: db, Secret: []byte("test-secret-test-secret-test-secret"), CheckInterval: time.Hour}
	s.Start(ctx)
	t.Cleanup(s.Close)
	<-s.Ready()
	r, err := db.CreateRestaurant(ctx, "Alpha", "AA")
	if err != nil {
		t.Fatal(err)
	}
	tctx := tenancy.WithTenant(ctx, r.ID)
	newKey := func(name string) (id, key string) {
		t.Helper()
		k, key, err := s.CreateSDKKey(tctx, name)
		if err != nil {
			t.Fatal(err)
		}
		return k.ID, key
	}
	authenticate := func(key string) error {
		t.Helper()
		p, err := s.AuthenticateAllowingStale(ctx, key)
		if err == nil && (p.RestaurantID != r.ID || !auth.IsSDKKey(p)) {
			t.Fatalf("principal %+v, want an SDK key of %s", p, r.ID)
		}
		return err
	}
	seen := func(key string) bool { return auth.Seen(s, key) }

	id, key := newKey("storefront")
	for range 3 {
		if err := authenticate(key); err != nil {
			t.Fatal(err)
		}
	}
	if !seen(key) {
		t.Fatal("a key checked three times is not kept by value")
	}
	if _, err := db.RevokeSDKKey(tctx, id); err != nil {
		t.Fatal(err)
	}
	if err := authenticate(key); !apperr.Is(err, apperr.Unauthorized) {
		t.Fatalf("revoked seen key: %v, want 401", err)
	}

	id, key = newKey("kiosk")
	for range 2 {
		if err := authenticate(key); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.SetRestaurantStatus(tctx, tenancy.Suspended); err != nil {
		t.Fatal(err)
	}
	if err := authenticate(key); !apperr.Is(err, apperr.Forbidden) {
		t.Fatalf("seen key of a suspended restaurant: %v, want 403", err)
	}
	if _, err := db.SetRestaurantStatus(tctx, tenancy.Active); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := authenticate(key); err != nil {
			t.Fatalf("seen key after reactivation: %v", err)
		}
	}

	// Its use is still recorded, though noted once a second.
	auth.FlushUses(ctx, s)
	keys, err := db.SDKKeys(tctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if k.ID == id && k.LastUsedAt == nil {
			t.Error("the seen key's use was not recorded")
		}
	}

	// Not live (notifications lost): a revocation that was never announced
	// is still in force, since the database is asked.
	if !seen(key) {
		t.Fatal("the key is not kept by value")
	}
	auth.TakeCacheOutOfService(s)
	if _, err := db.SQL().ExecContext(ctx, `UPDATE sdk_keys SET revoked_at = created_at WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	if err := authenticate(key); !apperr.Is(err, apperr.Unauthorized) {
		t.Fatalf("key revoked unannounced while the cache is not live: %v, want 401", err)
	}
}
