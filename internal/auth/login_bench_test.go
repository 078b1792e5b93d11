package auth_test

import (
	"context"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/shimizu-tech/ordersuite/internal/auth"
	"github.com/shimizu-tech/ordersuite/internal/storetest"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// BenchmarkLogin shows what a login's time tells an observer, at the
// production bcrypt cost: a right and a wrong password take the same time,
// an unknown e-mail as long as one account, and a clone's copied login
// (same hash) no longer than one account.
//
//	go test -run '^$' -bench Login -benchtime 20x ./internal/auth/
func BenchmarkLogin(b *testing.B) {
	db := storetest.Open(b)
	ctx := context.Background()
	hash := func(pw string) string {
		h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.DefaultCost)
		if err != nil {
			b.Fatal(err)
		}
		return string(h)
	}
	shared, other := hash(pw), hash(pw)
	for i, accounts := range [][]struct{ email, hash string }{
		{{"one@example.test", shared}, {"clone@example.test", shared}, {"two@example.test", shared}},
		{{"clone@example.test", shared}, {"two@example.test", other}},
	} {
		r, err := db.CreateRestaurant(ctx, []string{"Alpha Sushi", "Alpha Sushi (copy)"}[i], []string{"AS", "AC"}[i])
		if err != nil {
			b.Fatal(err)
		}
		for _, a := range accounts {
			if _, err := db.CreateUser(tenancy.WithTenant(ctx, r.ID), tenancy.User{Email: a.email, Role: tenancy.Admin, PasswordHash: a.hash}); err != nil {
				b.Fatal(err)
			}
		}
	}
	svc := &auth.Service{DB: db, Secret: []byte("bench-secret-bench-secret-bench-secret")}
	for _, c := range []struct{ name, email, password string }{
		{"unknown-email", "nobody@example.test", pw},
		{"one-account/right", "one@example.test", pw},
		{"one-account/wrong", "one@example.test", "not the password"},
		{"clone-same-hash/right", "clone@example.test", pw},
		{"clone-same-hash/wrong", "clone@example.test", "not the password"},
		{"two-distinct-hashes/right", "two@example.test", pw},
		{"two-distinct-hashes/wrong", "two@example.test", "not the password"},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				_, _ = svc.Login(ctx, c.email, c.password, "")
			}
		})
	}
}
