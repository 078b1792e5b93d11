package auth

import "github.com/shimizu-tech/ordersuite/internal/store"

// Through a database outage, flag evaluation keeps answering for the
// callers it knew: the routes that allow it (the HTTP layer authenticates
// them with AuthenticateAllowingStale) accept a token or SDK key whose
// state the cache held when the database became unreachable. Nothing else is served from such state, and
// it is used only while the database refuses the very query that would
// have checked it: a revocation written while this instance could not reach
// the database is in force the moment it can again.

// staleTokenState is the cached state of a token, whatever the cache's
// liveness; ok is false when the cache never held it.
func (c *stateCache) staleTokenState(userID, restaurantID, jti string) (store.TokenState, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	u, ok := c.users[restaurantID][userID]
	if !ok || c.revoked == nil {
		return store.TokenState{}, false
	}
	if restaurantID != "" {
		t, ok := c.tenants[restaurantID]
		if !ok {
			return store.TokenState{}, false
		}
		u.TenantStatus, u.TenantValidAfter = t.Status, t.ValidAfter
	}
	_, u.Revoked = c.revoked[jti]
	return u, true
}

// staleSDKKey is the cached state of an SDK key and its restaurant.
func (c *stateCache) staleSDKKey(hash string) (store.SDKKeyAuth, store.TenantAuth, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	k, ok := c.keys[hash]
	if !ok {
		return k, store.TenantAuth{}, false
	}
	t, ok := c.tenants[k.RestaurantID]
	return k, t, ok
}
