package auth_test

import (
	"context"
	"testing"

	"github.com/shimizu-tech/ordersuite/internal/auth"
	"github.com/shimizu-tech/ordersuite/internal/storetest"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// BenchmarkAuthenticateToken: a login token's check with the auth state in
// memory — seen before (claims remembered, expiry compared) against a token
// never seen (parsed and its signature computed), as every request was.
func BenchmarkAuthenticateToken(b *testing.B) {
	db := storetest.Open(b)
	ctx := context.Background()
	r, err := db.CreateRestaurant(ctx, "Bench", "BT")
	if err != nil {
		b.Fatal(err)
	}
	u, err := db.CreateUser(tenancy.WithTenant(ctx, r.ID), tenancy.User{Email: "b@t.test", Role: tenancy.Staff, PasswordHash: "x"})
	if err != nil {
		b.Fatal(err)
	}
	svc := &auth.Service{DB: db, Secret: []byte("bench-secret-bench-secret-bench-secret")}
	svc.Start(ctx)
	b.Cleanup(svc.Close)
	<-svc.Ready()
	tok, _, err := svc.Issue(u)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := svc.Authenticate(ctx, tok); err != nil { // state warm
		b.Fatal(err)
	}
	b.Run("seen_before", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := svc.Authenticate(ctx, tok); err != nil {
				b.Fatal(err)
			}
		}
	})
	// Twice as many distinct tokens as the memo holds, in turn: each is
	// parsed and verified as if never seen.
	many := make([]string, 20000)
	for i := range many {
		if many[i], _, err = svc.Issue(u); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("never_seen", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, err := svc.Authenticate(ctx, many[i%len(many)]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}
