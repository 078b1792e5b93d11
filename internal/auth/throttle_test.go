package auth_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/auth"
	"github.com/shimizu-tech/ordersuite/internal/storetest"
)

// TestThrottleSparesAddressesThatHaveNotFailed: once an account's throttle
// is closed by failures from one address, that address waits, but another
// address that has not failed on the account gets its try — the owner is
// not locked out by someone else's guessing — and after one failure of its
// own, it waits too.
func TestThrottleSparesAddressesThatHaveNotFailed(t *testing.T) {
	db := storetest.Open(t)
	ctx := context.Background()
	th := &auth.Throttle{DB: db, Policy: auth.ThrottlePolicy{Window: time.Hour, AccountLimit: 3, AddressLimit: 100}}
	for i := 0; i < 3; i++ {
		if err := th.CheckLogin(ctx, "owner@example.test", "203.0.113.9"); err != nil {
			t.Fatalf("attempt %d: %v", i, err)
		}
		if _, _, err := th.LoginFailed(ctx, "Owner@Example.test ", "203.0.113.9", 0); err != nil {
			t.Fatal(err)
		}
	}
	var throttled *auth.Throttled
	if err := th.CheckLogin(ctx, "owner@example.test", "203.0.113.9"); !errors.As(err, &throttled) || throttled.Kind != "account" {
		t.Fatalf("attacker's address: %v, want throttled", err)
	}
	if err := th.CheckLogin(ctx, "owner@example.test", "198.51.100.7"); err != nil {
		t.Fatalf("owner's address: %v, want a try", err)
	}
	if _, _, err := th.LoginFailed(ctx, "owner@example.test", "198.51.100.7", 0); err != nil {
		t.Fatal(err)
	}
	if err := th.CheckLogin(ctx, "owner@example.test", "198.51.100.7"); !errors.As(err, &throttled) {
		t.Fatalf("after its own failure: %v, want throttled", err)
	}
	if err := th.CheckLogin(ctx, "someone.else@example.test", "203.0.113.9"); err != nil {
		t.Fatalf("another account from the same address: %v", err)
	}
}
