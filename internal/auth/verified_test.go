package auth_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/auth"
	"github.com/shimizu-tech/ordersuite/internal/storetest"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// TestVerifiedTokenStillExpires: a token seen before is not parsed again,
// but it stops working when it expires, exactly as a fresh parse would
// refuse it; a token signed with another secret, or altered, is refused
// even once its valid twin has been seen.
func TestVerifiedTokenStillExpires(t *testing.T) {
	var mu sync.Mutex
	now := time.Now().UTC().Truncate(time.Second)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	db := storetest.OpenWithClock(t, clock)
	ctx := context.Background()
	r, err := db.CreateRestaurant(ctx, "Clock", "CK")
	if err != nil {
		t.Fatal(err)
	}
	u, err := db.CreateUser(tenancy.WithTenant(ctx, r.ID), tenancy.User{Email: "c@k.test", Role: tenancy.Staff, PasswordHash: "x"})
	if err != nil {
		t.Fatal(err)
	}
	svc := &auth.Service{DB: db, Secret: []byte("clock-secret-clock-secret-clock-secret")}
	other := &auth.Service{DB: db, Secret: []byte("another-secret-another-secret-another")}
	tok, claims, err := svc.Issue(u)
	if err != nil {
		t.Fatal(err)
	}
	forged, _, err := other.Issue(u)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := svc.Authenticate(ctx, tok); err != nil {
			t.Fatalf("valid token: %v", err)
		}
		if _, err := svc.Authenticate(ctx, forged); err == nil {
			t.Fatal("a token signed with another secret was accepted")
		}
		if _, err := svc.Authenticate(ctx, tok[:len(tok)-1]+"A"); err == nil && tok[len(tok)-1] != 'A' {
			t.Fatal("an altered signature was accepted")
		}
	}
	exp := claims.ExpiresAt.Time
	mu.Lock()
	now = exp.Add(-time.Second)
	mu.Unlock()
	if _, err := svc.Authenticate(ctx, tok); err != nil {
		t.Fatalf("a second before expiry: %v", err)
	}
	mu.Lock()
	now = exp
	mu.Unlock()
	if _, err := svc.Authenticate(ctx, tok); err == nil {
		t.Fatal("an expired token seen before was accepted")
	}
	fresh := &auth.Service{DB: db, Secret: svc.Secret}
	if _, err := fresh.Authenticate(ctx, tok); err == nil {
		t.Fatal("the parser accepts the expired token (the test's clock is wrong)")
	}
}
