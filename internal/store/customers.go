package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/apperr"
	"github.com/shimizu-tech/ordersuite/internal/customers"
	"github.com/shimizu-tech/ordersuite/internal/staff"
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
	order:   "name, id",
	filters: map[string]string{"email": "email = ?", "q": "LOWER(name) LIKE ?"},
}

// CustomerForUser returns the customer record of a login of role customer,
// creating it on first use, so a guest's orders and reservations are theirs.
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

// StaffMembers are the people working at the tenant.
var StaffMembers = &Entity[staff.Member]{
	table: "staff_members", what: "staff member", resource: "staff_member",
	columns: []string{"id", "user_id", "name", "position", "email", "phone", "active", "created_at", "updated_at"},
	scan: func(sc scanner) (staff.Member, error) {
		var v staff.Member
		var user sql.NullString
		err := sc.Scan(&v.ID, &user, &v.Name, &v.Position, &v.Email, &v.Phone, &v.Active, &v.CreatedAt, &v.UpdatedAt)
		v.UserID = user.String
		utc(&v.CreatedAt, &v.UpdatedAt)
		return v, err
	},
	values: func(v *staff.Member) []any {
		return []any{v.ID, nullable(v.UserID), v.Name, v.Position, v.Email, v.Phone, v.Active, v.CreatedAt, v.UpdatedAt}
	},
	id: func(v *staff.Member) string { return v.ID },
	touch: func(v *staff.Member, now time.Time, creating bool) {
		stamp(&v.ID, &v.CreatedAt, &v.UpdatedAt, now, creating)
	},
	refs: func(v *staff.Member) []ref {
		return []ref{{field: "user_id", table: "users", what: "user", id: v.UserID}}
	},
	order:   "name, id",
	filters: map[string]string{"position": "position = ?", "active": "active = ?", "q": "LOWER(name) LIKE ?"},
}

// Feedback is what the tenant's guests said.
var Feedback = &Entity[customers.Feedback]{
	table: "feedback", what: "feedback", resource: "feedback",
	columns: []string{"id", "customer_id", "order_id", "rating", "comment", "created_at", "updated_at"},
	scan: func(sc scanner) (customers.Feedback, error) {
		var v customers.Feedback
		var cust, order sql.NullString
		err := sc.Scan(&v.ID, &cust, &order, &v.Rating, &v.Comment, &v.CreatedAt, &v.UpdatedAt)
		v.CustomerID, v.OrderID = cust.String, order.String
		utc(&v.CreatedAt, &v.UpdatedAt)
		return v, err
	},
	values: func(v *customers.Feedback) []any {
		return []any{v.ID, nullable(v.CustomerID), nullable(v.OrderID), v.Rating, v.Comment, v.CreatedAt, v.UpdatedAt}
	},
	id: func(v *customers.Feedback) string { return v.ID },
	touch: func(v *customers.Feedback, now time.Time, creating bool) {
		stamp(&v.ID, &v.CreatedAt, &v.UpdatedAt, now, creating)
	},
	refs: func(v *customers.Feedback) []ref {
		return []ref{{field: "customer_id", table: "customers", what: "customer", id: v.CustomerID},
			{field: "order_id", table: "orders", what: "order", id: v.OrderID}}
	},
	order:   "created_at DESC, id DESC",
	filters: map[string]string{"rating": "rating = ?", "customer_id": "customer_id = ?", "order_id": "order_id = ?"},
}
