package httpapi

import (
	"net/http"

	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// Route is one line of the route table: what it answers, who may call it and
// how its tenant is found. The same table drives the mux, authorization, the
// read-only lock and the generated isolation tests.
type Route struct {
	Method  string
	Pattern string
	Handler func(s *Server, w http.ResponseWriter, r *http.Request) error
	// Roles may call the route; nil means public (no token needed).
	Roles []tenancy.Role
	// Scope says where the request's tenant comes from.
	Scope Scope
	// Always marks writes that must still work on a read-only tenant:
	// emergency response and logout.
	Always bool
	// APIKey lets installation API keys call the route (migration between
	// environments); every other route refuses them.
	APIKey bool
	// SDKKey lets a restaurant's SDK keys call the route (flag evaluation);
	// every other route refuses them.
	SDKKey bool
	// OFREP routes answer every error in the OpenFeature Remote Evaluation
	// Protocol's shape, so OpenFeature providers can classify it.
	OFREP bool
}

// Scope is how a route finds its tenant.
type Scope int

const (
	// NoTenant routes act on the caller or the platform.
	NoTenant Scope = iota
	// TenantScoped routes act on the caller's tenant; a super_admin names it
	// with the X-Restaurant-ID header or the restaurant_id query parameter.
	TenantScoped
	// TenantInPath routes name the restaurant as {id} in the path.
	TenantInPath
	// TenantOptional routes are TenantScoped, except that a super_admin who
	// names no tenant acts on the platform alone (e.g. global flag defaults).
	TenantOptional
)

var (
	anyRole     = tenancy.Roles
	admins      = []tenancy.Role{tenancy.SuperAdmin, tenancy.Admin}
	superAdmins = []tenancy.Role{tenancy.SuperAdmin}
)

// Routes is the route table: one section per capability, each in the file
// of that capability's handlers.
func Routes() []Route {
	var all []Route
	for _, section := range [][]Route{
		platformRoutes(),
		backupRoutes(),
		domainRoutes(),
		flagRoutes(),
		analyticsRoutes(),
	} {
		all = append(all, section...)
	}
	return all
}

// platformRoutes are health, login and the tenants and users themselves.
func platformRoutes() []Route {
	return []Route{
		{Method: "GET", Pattern: "/health", Handler: (*Server).health},
		{Method: "GET", Pattern: "/ready", Handler: (*Server).ready},
		{Method: "POST", Pattern: "/login", Handler: (*Server).login},
		{Method: "POST", Pattern: "/logout", Handler: (*Server).logout, Roles: anyRole, Always: true},
		{Method: "GET", Pattern: "/api/v1/me", Handler: (*Server).me, Roles: anyRole},

		{Method: "GET", Pattern: "/api/v1/restaurants", Handler: (*Server).listRestaurants, Roles: superAdmins},
		{Method: "POST", Pattern: "/api/v1/restaurants", Handler: (*Server).createRestaurant, Roles: superAdmins},
		{Method: "GET", Pattern: "/api/v1/restaurants/{id}", Handler: (*Server).getRestaurant, Roles: anyRole, Scope: TenantInPath},
		{Method: "PATCH", Pattern: "/api/v1/restaurants/{id}", Handler: (*Server).updateRestaurant, Roles: admins, Scope: TenantInPath},

		{Method: "GET", Pattern: "/api/v1/users", Handler: (*Server).listUsers, Roles: admins, Scope: TenantScoped},
		{Method: "POST", Pattern: "/api/v1/users", Handler: (*Server).createUser, Roles: admins, Scope: TenantScoped},
		{Method: "GET", Pattern: "/api/v1/users/{id}", Handler: (*Server).getUser, Roles: admins, Scope: TenantScoped},
		{Method: "PATCH", Pattern: "/api/v1/users/{id}", Handler: (*Server).updateUser, Roles: admins, Scope: TenantScoped},
		{Method: "DELETE", Pattern: "/api/v1/users/{id}", Handler: (*Server).deleteUser, Roles: admins, Scope: TenantScoped},
		{Method: "POST", Pattern: "/api/v1/users/{id}/revoke_tokens", Handler: (*Server).revokeUserTokens, Roles: admins, Scope: TenantScoped, Always: true},

		{Method: "GET", Pattern: "/admin/audit_log", Handler: (*Server).auditLog, Roles: admins, Scope: TenantOptional},
		{Method: "POST", Pattern: "/admin/restaurants/{id}/status", Handler: (*Server).setRestaurantStatus, Roles: superAdmins, Scope: TenantInPath, Always: true},
		{Method: "POST", Pattern: "/admin/restaurants/{id}/revoke_tokens", Handler: (*Server).revokeRestaurantTokens, Roles: superAdmins, Scope: TenantInPath, Always: true},
	}
}

// Allows reports whether role may call the route.
func (rt Route) Allows(role tenancy.Role) bool {
	for _, r := range rt.Roles {
		if r == role {
			return true
		}
	}
	return false
}

// IsWrite reports whether the route changes state (and so is refused on a
// read-only tenant unless marked Always).
func (rt Route) IsWrite() bool { return rt.Method != "GET" && rt.Method != "HEAD" }
