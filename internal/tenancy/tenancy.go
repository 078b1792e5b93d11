// Package tenancy owns who is acting and for which tenant. A tenant is a
// restaurant; every request that touches tenant data carries the tenant id in
// its context, and the data layer refuses to run a tenant query without it.
package tenancy

import (
	"context"
	"time"
)

// Role is what a user may do. super_admin belongs to no restaurant; the other
// roles belong to exactly one.
type Role string

const (
	SuperAdmin Role = "super_admin"
	Admin      Role = "admin"
	Staff      Role = "staff"
	Customer   Role = "customer"
)

// Roles lists every role, most privileged first.
var Roles = []Role{SuperAdmin, Admin, Staff, Customer}

// Valid reports whether r is a known role.
func (r Role) Valid() bool {
	for _, x := range Roles {
		if r == x {
			return true
		}
	}
	return false
}

// Status is a restaurant's operating state.
type Status string

const (
	Active    Status = "active"
	ReadOnly  Status = "read_only" // reads work, writes are refused (423)
	Suspended Status = "suspended" // everything refused except for super_admin
)

// Valid reports whether s is a known status.
func (s Status) Valid() bool {
	return s == Active || s == ReadOnly || s == Suspended
}

// Restaurant is a tenant.
type Restaurant struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Prefix string `json:"prefix"` // used in order and reservation numbers
	Status Status `json:"status"`
	// Currency is the ISO 4217 code of the restaurant's amounts.
	Currency  string    `json:"currency"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// User is a person who can log in. RestaurantID is empty for super_admin.
type User struct {
	ID           string    `json:"id"`
	RestaurantID string    `json:"restaurant_id,omitempty"`
	Email        string    `json:"email"`
	Name         string    `json:"name"`
	Role         Role      `json:"role"`
	PasswordHash string    `json:"-"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// Principal is the authenticated caller of a request.
type Principal struct {
	UserID       string
	RestaurantID string // the user's own restaurant; empty for super_admin
	Role         Role
	TokenID      string
	TokenExpiry  time.Time
	IP           string
	// Status is the own restaurant's status, read with the token's state so
	// a request in the caller's own tenant needs no second lookup; empty for
	// super_admin.
	Status Status
	// APIKeyName is set when the caller is an installation API key (UserID
	// is then the key's id): the audit log names the key, not an operator.
	APIKeyName string
}

type ctxKey int

const (
	tenantKey ctxKey = iota
	principalKey
)

// The tenant and the principal are held by contexts of their own types
// rather than context.WithValue: a value boxed in an interface cost an
// allocation more on every request, and Tenant is read many times in each.

type tenantCtx struct {
	context.Context
	id string
}

func (c *tenantCtx) Value(key any) any {
	if key == tenantKey {
		return c
	}
	return c.Context.Value(key)
}

type principalCtx struct {
	context.Context
	p Principal
}

func (c *principalCtx) Value(key any) any {
	if key == principalKey {
		return c
	}
	return c.Context.Value(key)
}

// WithTenant returns a context whose tenant is restaurantID.
func WithTenant(ctx context.Context, restaurantID string) context.Context {
	return &tenantCtx{Context: ctx, id: restaurantID}
}

// Tenant returns the context's tenant, if any.
func Tenant(ctx context.Context) (string, bool) {
	c, ok := ctx.Value(tenantKey).(*tenantCtx)
	if !ok {
		return "", false
	}
	return c.id, c.id != ""
}

// WithPrincipal returns a context carrying the authenticated caller.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return &principalCtx{Context: ctx, p: p}
}

// PrincipalFrom returns the authenticated caller, if any.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	c, ok := ctx.Value(principalKey).(*principalCtx)
	if !ok {
		return Principal{}, false
	}
	return c.p, true
}
