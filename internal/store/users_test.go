package store_test

import (
	"context"
	"testing"

	"github.com/shimizu-tech/ordersuite/internal/customers"
	"github.com/shimizu-tech/ordersuite/internal/staff"
	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/storetest"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// TestDeleteUserUnlinksPeople: deleting a user linked to a customer and a
// staff record succeeds and leaves both records, unlinked; deleting the
// tenant still takes everything. The database no
// longer does this (Citus refuses ON DELETE SET NULL on a key that includes
// restaurant_id), so the deletion's own transaction must.
func TestDeleteUserUnlinksPeople(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t)
	bg := context.Background()
	r, err := db.CreateRestaurant(bg, "Unlink", "UL")
	if err != nil {
		t.Fatal(err)
	}
	ctx := tenancy.WithTenant(bg, r.ID)
	u, err := db.CreateUser(ctx, tenancy.User{Email: "kenji@example.com", Role: tenancy.Staff, PasswordHash: "h"})
	if err != nil {
		t.Fatal(err)
	}
	keep, err := db.CreateUser(ctx, tenancy.User{Email: "aiko@example.com", Role: tenancy.Staff, PasswordHash: "h"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := store.Create(ctx, db, store.Customers, customers.Customer{UserID: u.ID, Fields: customers.Fields{Name: "Kenji"}})
	if err != nil {
		t.Fatal(err)
	}
	fields := staff.NewFields()
	fields.UserID, fields.Name, fields.Position = u.ID, "Kenji", "chef"
	m, err := store.Create(ctx, db, store.StaffMembers, staff.Member{Fields: fields})
	if err != nil {
		t.Fatal(err)
	}
	other := staff.NewFields()
	other.UserID, other.Name, other.Position = keep.ID, "Aiko", "server"
	o, err := store.Create(ctx, db, store.StaffMembers, staff.Member{Fields: other})
	if err != nil {
		t.Fatal(err)
	}

	if err := db.DeleteUser(ctx, u.ID); err != nil {
		t.Fatalf("delete a user linked to a customer and a staff member: %v", err)
	}
	if got, err := store.Get(ctx, db, store.Customers, c.ID); err != nil || got.UserID != "" {
		t.Errorf("customer after its user's deletion: user_id %q, err %v; want the record kept, unlinked", got.UserID, err)
	}
	if got, err := store.Get(ctx, db, store.StaffMembers, m.ID); err != nil || got.UserID != "" {
		t.Errorf("staff member after its user's deletion: user_id %q, err %v; want the record kept, unlinked", got.UserID, err)
	}
	if got, err := store.Get(ctx, db, store.StaffMembers, o.ID); err != nil || got.UserID != keep.ID {
		t.Errorf("another user's staff member: user_id %q, err %v; want it still linked to %s", got.UserID, err, keep.ID)
	}
	var n int
	if err := db.SQL().QueryRowContext(bg, `SELECT COUNT(*) FROM users WHERE restaurant_id = $1 AND id = $2`, r.ID, u.ID).Scan(&n); err != nil || n != 0 {
		t.Errorf("the deleted user still has %d rows (err %v)", n, err)
	}

	// Deleting the whole tenant removes users and their linked records in
	// one cascade, which the plain references allow.
	if err := db.DeleteRestaurant(bg, r.ID); err != nil {
		t.Fatalf("delete a tenant whose user is linked to a staff member: %v", err)
	}
	if err := db.SQL().QueryRowContext(bg, `SELECT COUNT(*) FROM staff_members WHERE restaurant_id = $1`, r.ID).Scan(&n); err != nil || n != 0 {
		t.Errorf("the deleted tenant still has %d staff members (err %v)", n, err)
	}
}
