package auth_test

import (
	"context"
	"testing"

	"github.com/shimizu-tech/ordersuite/internal/apperr"
	"github.com/shimizu-tech/ordersuite/internal/auth"
	"github.com/shimizu-tech/ordersuite/internal/storetest"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

func TestHashPasswordLimits(t *testing.T) {
	auth.SetFastHashingForTests()
	if _, err := auth.HashPassword("short"); !apperr.Is(err, apperr.Invalid) {
		t.Errorf("short password: %v", err)
	}
	long := make([]byte, 73)
	for i := range long {
		long[i] = 'a'
	}
	if _, err := auth.HashPassword(string(long)); !apperr.Is(err, apperr.Invalid) {
		t.Errorf("73-byte password: %v (bcrypt would silently cut it)", err)
	}
	if h, err := auth.HashPassword("exactly ten"); err != nil || h == "" {
		t.Errorf("valid password: %v", err)
	}
}

// FuzzAuthenticate: no token string makes Authenticate panic or succeed
// unless it is a real token.
func FuzzAuthenticate(f *testing.F) {
	db := storetest.Open(f)
	ctx := context.Background()
	r, err := db.CreateRestaurant(ctx, "Fuzz", "FZ")
	if err != nil {
		f.Fatal(err)
	}
	u, err := db.CreateUser(tenancy.WithTenant(ctx, r.ID), tenancy.User{Email: "f@z.test", Role: tenancy.Staff, PasswordHash: "x"})
	if err != nil {
		f.Fatal(err)
	}
	svc := &auth.Service{DB: db, Secret: []byte("fuzz-secret-fuzz-secret-fuzz-secret!")}
	valid, _, err := svc.Issue(u)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(valid)
	f.Add(valid[:len(valid)-2])
	f.Add("a.b.c")
	f.Add("")
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Fuzz(func(t *testing.T, token string) {
		p, err := svc.Authenticate(ctx, token)
		if token == valid {
			if err != nil || p.UserID != u.ID {
				t.Fatalf("valid token refused: %v", err)
			}
			return
		}
		if err == nil && p.UserID != u.ID {
			t.Fatalf("token %q authenticated as %+v", token, p)
		}
		if err != nil && apperr.CodeOf(err) != apperr.Unauthorized {
			t.Fatalf("token %q: %v (want unauthorized)", token, err)
		}
	})
}
