package auth

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// DefaultCheckInterval is how often each instance compares the database's
// auth state version with what it has applied: the longest a change can go
// unnoticed when notifications fail silently, and how a change made by
// another process on SQLite (the command line) is heard: twice a second,
// so either is in force within a second.
const DefaultCheckInterval = 500 * time.Millisecond

// touchInterval is how often the last use of SDK and API keys is written:
// once per interval per key at most, whatever the traffic.
const touchInterval = 5 * time.Second

// stateCache serves the state behind tokens and SDK keys from memory: users'
// roles and token cut-offs, restaurants' status and cut-offs, logged-out
// tokens and live SDK keys. Entries are read from the database on first use
// and dropped when a change is announced: at once for this process's own
// changes, through PostgreSQL notifications for other instances', and
// wholesale when the version check finds a change that was not announced.
// While it cannot be sure it hears every change (the listening connection
// is down, a check failed) it is not live and authentication asks the
// database on every request.
type stateCache struct {
	db  *store.DB
	log *slog.Logger

	live      atomic.Bool // serving from memory is safe
	listening atomic.Bool // notifications are heard (always true without them)
	listenPID atomic.Uint32

	mu sync.RWMutex
	// epoch moves with every invalidation, so an entry read from the
	// database while a change was applied is not stored.
	epoch   uint64
	applied int64                                  // every change up to this version is reflected
	users   map[string]map[string]store.TokenState // restaurant → user; "" for operators
	tenants map[string]store.TenantAuth
	revoked map[string]time.Time        // nil until loaded
	keys    map[string]store.SDKKeyAuth // by hash; nil until loaded
	apiKeys map[string]store.APIKeyAuth // by hash; nil until loaded
	// seen holds the live SDK keys this process has checked, by the key
	// itself, so a key evaluated again is not hashed again: SHA-256 was the
	// largest cost of authenticating one. Only a key found live enters, so
	// it holds no more than the live keys, and it is dropped with keys.
	seen map[string]*seenKey

	usedMu  sync.Mutex
	used    map[string]time.Time // SDK key id → last use not yet written
	apiUsed map[string]time.Time // API key id → last use not yet written
}

func newStateCache(db *store.DB, log *slog.Logger) *stateCache {
	return &stateCache{db: db, log: log, users: map[string]map[string]store.TokenState{},
		tenants: map[string]store.TenantAuth{}, used: map[string]time.Time{}, apiUsed: map[string]time.Time{}}
}

// apply drops what a change makes stale.
func (c *stateCache) apply(ch store.AuthChange) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	switch ch.Kind {
	case store.AuthUser:
		delete(c.users[ch.RestaurantID], ch.ID)
	case store.AuthTenant:
		delete(c.tenants, ch.RestaurantID)
		delete(c.users, ch.RestaurantID)
	case store.AuthToken:
		if c.revoked != nil {
			exp := ch.Expires
			if exp.IsZero() {
				exp = time.Now().Add(TokenTTL)
			}
			c.revoked[ch.ID] = exp
		}
	case store.AuthSDKKey:
		c.keys, c.seen = nil, nil
	case store.AuthAPIKey:
		c.apiKeys = nil
	default:
		c.dropLocked(c.applied)
	}
	if ch.Version == c.applied+1 {
		c.applied = ch.Version
	}
}

// drop forgets everything; version is what the database held before the
// next reads.
func (c *stateCache) drop(version int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dropLocked(version)
}

func (c *stateCache) dropLocked(version int64) {
	c.epoch++
	c.applied = version
	c.users = map[string]map[string]store.TokenState{}
	c.tenants = map[string]store.TenantAuth{}
	c.revoked, c.keys, c.apiKeys, c.seen = nil, nil, nil, nil
}

// tokenState is DB.TokenStateFor from memory.
func (c *stateCache) tokenState(ctx context.Context, userID, restaurantID, jti string) (store.TokenState, error) {
	c.mu.RLock()
	u, userKnown := c.users[restaurantID][userID]
	t, tenantKnown := c.tenants[restaurantID]
	_, revoked := c.revoked[jti]
	revokedKnown := c.revoked != nil
	epoch := c.epoch
	c.mu.RUnlock()
	if !userKnown || (u.UserExists && restaurantID != "" && !tenantKnown) {
		st, err := c.db.TokenStateFor(ctx, userID, restaurantID, jti)
		if err != nil {
			return st, err
		}
		user := st
		user.Revoked = false
		c.mu.Lock()
		if c.epoch == epoch {
			if c.users[restaurantID] == nil {
				c.users[restaurantID] = map[string]store.TokenState{}
			}
			c.users[restaurantID][userID] = user
			if st.UserExists && restaurantID != "" {
				c.tenants[restaurantID] = store.TenantAuth{Exists: true, Status: st.TenantStatus, ValidAfter: st.TenantValidAfter}
			}
		}
		c.mu.Unlock()
		return st, nil
	}
	if !u.UserExists {
		return u, nil
	}
	if !revokedKnown {
		all, err := c.db.RevokedTokens(ctx)
		if err != nil {
			return store.TokenState{}, err
		}
		c.mu.Lock()
		if c.epoch == epoch {
			c.revoked = all
		}
		c.mu.Unlock()
		_, revoked = all[jti]
	}
	u.Revoked = revoked
	if restaurantID != "" {
		u.TenantStatus, u.TenantValidAfter = t.Status, t.ValidAfter
	}
	return u, nil
}

// user is the cached row of a user whose token state is held, as
// DB.TokenStateFor read it; ok is false when it is not held.
func (c *stateCache) user(restaurantID, userID string) (tenancy.User, bool) {
	c.mu.RLock()
	u, ok := c.users[restaurantID][userID]
	c.mu.RUnlock()
	if !ok || !u.UserExists {
		return tenancy.User{}, false
	}
	return u.User, true
}

// tenant is DB.TenantAuthState from memory.
func (c *stateCache) tenant(ctx context.Context, restaurantID string) (store.TenantAuth, error) {
	c.mu.RLock()
	t, ok := c.tenants[restaurantID]
	epoch := c.epoch
	c.mu.RUnlock()
	if ok {
		return t, nil
	}
	t, err := c.db.TenantAuthState(ctx, restaurantID)
	if err != nil {
		return t, err
	}
	c.mu.Lock()
	if c.epoch == epoch {
		c.tenants[restaurantID] = t
	}
	c.mu.Unlock()
	return t, nil
}

// sdkKey finds a live key by hash from memory.
func (c *stateCache) sdkKey(ctx context.Context, hash string) (store.SDKKeyAuth, bool, error) {
	c.mu.RLock()
	loaded := c.keys != nil
	k, found := c.keys[hash]
	epoch := c.epoch
	c.mu.RUnlock()
	if found {
		return k, true, nil
	}
	if !loaded {
		list, err := c.db.LiveSDKKeys(ctx)
		if err != nil {
			return store.SDKKeyAuth{}, false, err
		}
		keys := make(map[string]store.SDKKeyAuth, len(list))
		for _, k := range list {
			keys[k.Hash] = k
		}
		k, found = keys[hash]
		c.mu.Lock()
		if c.epoch == epoch {
			c.keys = keys
		}
		c.mu.Unlock()
		if found {
			return k, true, nil
		}
	}
	// A key created on another instance a moment ago may not be announced
	// here yet: an unknown key is looked up before it is refused.
	k, ok, err := c.db.SDKKeyByHash(ctx, hash)
	if err != nil || !ok {
		return k, false, err
	}
	c.mu.Lock()
	if c.epoch == epoch && c.keys != nil {
		c.keys[hash] = k
	}
	c.mu.Unlock()
	return k, true, nil
}

// seenKey is a live SDK key as the cache found it, and the second of its
// last use noted for the batched write.
type seenKey struct {
	auth  store.SDKKeyAuth
	noted atomic.Int64
}

// seenSDKKey finds a key checked before, and its restaurant, from memory
// without hashing it; ok is false when either is not in memory.
func (c *stateCache) seenSDKKey(key string) (*seenKey, store.TenantAuth, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	k, ok := c.seen[key]
	if !ok {
		return nil, store.TenantAuth{}, false
	}
	t, ok := c.tenants[k.auth.RestaurantID]
	return k, t, ok
}

// sawSDKKey keeps key, found live by its hash, for seenSDKKey, unless the
// keys were dropped since.
func (c *stateCache) sawSDKKey(key, hash string, k store.SDKKeyAuth) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cur, ok := c.keys[hash]; !ok || cur != k {
		return
	}
	if c.seen == nil {
		c.seen = map[string]*seenKey{}
	}
	c.seen[key] = &seenKey{auth: k}
}

// apiKey finds a live installation API key by hash from memory.
func (c *stateCache) apiKey(ctx context.Context, hash string) (store.APIKeyAuth, bool, error) {
	c.mu.RLock()
	loaded := c.apiKeys != nil
	k, found := c.apiKeys[hash]
	epoch := c.epoch
	c.mu.RUnlock()
	if found {
		return k, true, nil
	}
	if !loaded {
		list, err := c.db.LiveAPIKeys(ctx)
		if err != nil {
			return store.APIKeyAuth{}, false, err
		}
		keys := make(map[string]store.APIKeyAuth, len(list))
		for _, k := range list {
			keys[k.Hash] = k
		}
		k, found = keys[hash]
		c.mu.Lock()
		if c.epoch == epoch {
			c.apiKeys = keys
		}
		c.mu.Unlock()
		if found {
			return k, true, nil
		}
	}
	// As for SDK keys: a key created elsewhere a moment ago (another
	// instance, or the command line) is looked up before it is refused.
	k, ok, err := c.db.LiveAPIKeyByHash(ctx, hash)
	if err != nil || !ok {
		return k, false, err
	}
	c.mu.Lock()
	if c.epoch == epoch && c.apiKeys != nil {
		c.apiKeys[hash] = k
	}
	c.mu.Unlock()
	return k, true, nil
}

// apiKeyUsed notes an API key's use for the next batched write.
func (c *stateCache) apiKeyUsed(id string, at time.Time) {
	c.usedMu.Lock()
	c.apiUsed[id] = at
	c.usedMu.Unlock()
}

// used notes a key's use for the next batched write.
func (c *stateCache) keyUsed(id string, at time.Time) {
	c.usedMu.Lock()
	c.used[id] = at
	c.usedMu.Unlock()
}

// seenKeyUsed is keyUsed at most once a second per key: the use is written
// every touchInterval, to the second.
func (c *stateCache) seenKeyUsed(k *seenKey, at time.Time) {
	sec := at.Unix()
	if k.noted.Load() == sec {
		return
	}
	k.noted.Store(sec)
	c.keyUsed(k.auth.ID, at)
}

func (c *stateCache) flushUses(ctx context.Context) {
	c.usedMu.Lock()
	batch, apiBatch := c.used, c.apiUsed
	c.used = make(map[string]time.Time, len(batch))
	c.apiUsed = make(map[string]time.Time, len(apiBatch))
	c.usedMu.Unlock()
	if err := c.db.TouchSDKKeys(ctx, batch); err != nil {
		c.log.Warn("auth: record SDK key use", "err", err, "keys", len(batch))
	}
	if err := c.db.TouchAPIKeys(ctx, apiBatch); err != nil {
		c.log.Warn("auth: record API key use", "err", err, "keys", len(apiBatch))
	}
}

// check is the safety net: a version the cache has not applied means a
// change went unannounced, so everything is read afresh. A failed check
// stops serving from memory until one succeeds.
func (c *stateCache) check(ctx context.Context) {
	v, err := c.db.AuthVersion(ctx)
	if err != nil {
		if c.live.Swap(false) {
			c.log.Warn("auth: state version check failed; reading token state from the database", "err", err)
		}
		return
	}
	c.mu.RLock()
	behind := v != c.applied
	c.mu.RUnlock()
	if behind || !c.live.Load() {
		c.drop(v)
	}
	c.live.Store(c.listening.Load())
}

func (c *stateCache) pruneRevoked(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for jti, exp := range c.revoked {
		if exp.Before(now) {
			delete(c.revoked, jti)
		}
	}
}

// listen follows other instances' changes, reconnecting after failures.
// While not listening the cache is not live.
func (c *stateCache) listen(ctx context.Context, ready chan<- struct{}) {
	signalled := false
	backoff := 50 * time.Millisecond
	for ctx.Err() == nil {
		err := c.db.ListenAuthChanges(ctx, func(pid uint32) {
			// Changes made while nobody listened are unknown: start afresh.
			v, err := c.db.AuthVersion(ctx)
			if err != nil {
				return
			}
			c.drop(v)
			c.listenPID.Store(pid)
			c.listening.Store(true)
			c.live.Store(true)
			backoff = 50 * time.Millisecond
			if !signalled {
				signalled = true
				close(ready)
			}
		}, c.apply)
		c.live.Store(false)
		c.listening.Store(false)
		if ctx.Err() != nil {
			return
		}
		c.log.Warn("auth: change listener lost its connection; reading token state from the database until it is back",
			"err", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}
