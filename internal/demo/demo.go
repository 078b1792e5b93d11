// Package demo creates the demo restaurant a new installation starts with,
// so a first-time user can log in at once.
package demo

import (
	"context"
	"crypto/rand"
	"fmt"
	"math/big"

	"github.com/shimizu-tech/ordersuite/internal/auth"
	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

const (
	RestaurantName = "Shimizu Demo Kitchen"
	AdminEmail     = "admin@demo.ordersuite.local"
	OperatorEmail  = "operator@demo.ordersuite.local"
)

// Credentials are the logins Seed created, for printing once.
type Credentials struct {
	RestaurantID     string
	AdminEmail       string
	AdminPassword    string
	OperatorEmail    string
	OperatorPassword string
}

// Seed creates the demo restaurant with an admin, and a platform operator,
// each with a fresh random password. Run again, it keeps the data and sets
// new passwords, so a lost password is recovered by re-running it.
func Seed(ctx context.Context, db *store.DB) (Credentials, error) {
	return SeedHistory(ctx, db, HistoryDays)
}

// SeedHistory is Seed with days of order and reservation history instead
// of HistoryDays: the same variety, every table filled, at a fraction of
// the rows and writes when days is small.
func SeedHistory(ctx context.Context, db *store.DB, days int) (Credentials, error) {
	if days < 1 {
		return Credentials{}, fmt.Errorf("demo: history of %d days", days)
	}
	var rest tenancy.Restaurant
	all, err := db.Restaurants(ctx)
	if err != nil {
		return Credentials{}, err
	}
	for _, r := range all {
		if r.Name == RestaurantName {
			rest = r
		}
	}
	if rest.ID == "" {
		if rest, err = db.CreateRestaurant(ctx, RestaurantName, "SDK"); err != nil {
			return Credentials{}, fmt.Errorf("demo: create restaurant: %w", err)
		}
	}
	creds := Credentials{RestaurantID: rest.ID, AdminEmail: AdminEmail, OperatorEmail: OperatorEmail,
		AdminPassword: Password(), OperatorPassword: Password()}

	hash, err := auth.HashPassword(creds.AdminPassword)
	if err != nil {
		return Credentials{}, err
	}
	tctx := tenancy.WithTenant(ctx, rest.ID)
	users, err := db.UsersByEmail(ctx, AdminEmail)
	if err != nil {
		return Credentials{}, err
	}
	var adminID string
	for _, u := range users {
		if u.RestaurantID == rest.ID {
			adminID = u.ID
		}
	}
	if adminID == "" {
		_, err = db.CreateUser(tctx, tenancy.User{Email: AdminEmail, Name: "Demo Admin", Role: tenancy.Admin, PasswordHash: hash})
	} else {
		_, err = db.UpdateUser(tctx, adminID, store.UserPatch{PasswordHash: &hash})
	}
	if err != nil {
		return Credentials{}, fmt.Errorf("demo: admin user: %w", err)
	}

	opHash, err := auth.HashPassword(creds.OperatorPassword)
	if err != nil {
		return Credentials{}, err
	}
	if _, err := db.UpsertSuperAdmin(ctx, OperatorEmail, "Demo Operator", opHash); err != nil {
		return Credentials{}, fmt.Errorf("demo: operator: %w", err)
	}
	if err := seedDomain(tctx, db, days); err != nil {
		return Credentials{}, fmt.Errorf("demo: restaurant data: %w", err)
	}
	return creds, nil
}

// Password returns a random 16-character password without look-alike
// characters.
func Password() string {
	const alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789"
	b := make([]byte, 16)
	for i := range b {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		if err != nil {
			panic(err) // crypto/rand does not fail on supported platforms
		}
		b[i] = alphabet[n.Int64()]
	}
	return string(b)
}
