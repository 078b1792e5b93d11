package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/apperr"
	"github.com/shimizu-tech/ordersuite/internal/customers"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// Customers are the tenant's guests.
var Customers = &Entity[customers.Customer]{
	table: "customers", what: "customer", resource: "customer",
	columns: []string{"id", "user_id", "name", "email", "phone", "notes", "created_at", "updated_at"},
	scan: func(sc scanner) (customers.Customer, error) {
		var v customers.Customer
		var user sql.NullString
		err := sc.Scan(&v.ID, &user, &v.Name, &v.Email, &v.Phone, &v.Notes, &v.CreatedAt, &v.UpdatedAt)
		v.UserID = user.String
		utc(&v.CreatedAt, &v.UpdatedAt)
		return v, err
	},
	values: func(v *customers.Customer) []any {
		return []any{v.ID, nullable(v.UserID), v.Name, v.Email, v.Phone, v.Notes, v.CreatedAt, v.UpdatedAt}
	},
	id: func(v *customers.Customer) string { return v.ID },
	touch: func(v *customers.Customer, now time.Time, creating bool) {
		stamp(&v.ID, &v.CreatedAt, &v.UpdatedAt, now, creating)
	},
	refs: func(v *customers.Customer) []ref {
		return []ref{{field: "user_id", table: "users", what: "user", id: v.UserID}}
	},
	order:  "name, id",
	filter: reflect.TypeFor[CustomerFilter](),
}

// CustomerForUser returns the customer record of a login of role customer,
// creating it on first use, so a guest's orders and reservations are theirs.
// Errors: only internal ones; a record created meanwhile by a concurrent
// request is returned.
func (db *DB) CustomerForUser(ctx context.Context, u tenancy.User) (customers.Customer, error) {
	rid, err := tenant(ctx)
	if err != nil {
		return customers.Customer{}, err
	}
	get := func() (customers.Customer, error) {
		return Customers.scan(db.sql.QueryRowContext(ctx, `SELECT `+Customers.cols()+` FROM customers
			WHERE restaurant_id = $1 AND user_id = $2`, rid, u.ID))
	}
	c, err := get()
	if err == nil {
		return c, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return c, fmt.Errorf("store: customer of user: %w", err)
	}
	name := u.Name
	if name == "" {
		name = u.Email
	}
	c, err = Create(ctx, db, Customers, customers.Customer{UserID: u.ID, Fields: customers.Fields{Name: name, Email: u.Email}})
	if apperr.Is(err, apperr.Conflict) {
		return get() // created meanwhile by a concurrent request
	}
	return c, err
}
