package auth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"strings"

	"github.com/shimizu-tech/ordersuite/internal/apperr"
	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// SDKKeyPrefix starts every SDK key: a key that may only evaluate the flags
// of one restaurant (OpenFeature providers send it as a fixed header).
const SDKKeyPrefix = "ossdk_"

// sdkKeyTokenID marks a principal authenticated by an SDK key.
const sdkKeyTokenID = "sdk_key"

// NewSDKKey returns a fresh key and the hash to store.
func NewSDKKey() (key, hash string, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", "", err
	}
	key = SDKKeyPrefix + base64.RawURLEncoding.EncodeToString(b)
	return key, HashAPIKey(key), nil
}

// IsSDKKey reports whether a principal came from an SDK key; the router lets
// such callers reach only the routes marked for them.
func IsSDKKey(p tenancy.Principal) bool { return p.TokenID == sdkKeyTokenID }

// CreateSDKKey makes a key for the tenant in ctx and returns it with its
// secret, which is not stored and cannot be shown again.
func (s *Service) CreateSDKKey(ctx context.Context, name string) (store.SDKKey, string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return store.SDKKey{}, "", apperr.InvalidField("name", "is required")
	}
	if len(name) > 100 {
		return store.SDKKey{}, "", apperr.InvalidField("name", "must be at most 100 characters")
	}
	key, hash, err := NewSDKKey()
	if err != nil {
		return store.SDKKey{}, "", err
	}
	k, err := s.DB.CreateSDKKey(ctx, name, hash)
	return k, key, err
}

// authenticateSDKKey turns a live key into a principal of its restaurant
// with the least privileged role; the route table decides where it may go.
func (s *Service) authenticateSDKKey(ctx context.Context, key string, stale bool) (tenancy.Principal, error) {
	cache := s.liveCache()
	if cache != nil {
		if seen, t, ok := cache.seenSDKKey(key); ok {
			if t.Exists && t.Status != tenancy.Suspended {
				cache.seenKeyUsed(seen, s.DB.Now())
			}
			return sdkKeyPrincipal(seen.auth, t)
		}
	}
	hash := HashAPIKey(key)
	var k store.SDKKeyAuth
	var t store.TenantAuth
	var ok bool
	var err error
	if cache != nil {
		if k, ok, err = cache.sdkKey(ctx, hash); err == nil && ok {
			t, err = cache.tenant(ctx, k.RestaurantID)
			cache.sawSDKKey(key, hash, k)
		}
	} else if k, ok, err = s.DB.SDKKeyByHash(ctx, hash); err == nil && ok {
		t, err = s.DB.TenantAuthState(ctx, k.RestaurantID)
	}
	if err != nil && stale && store.Unavailable(err) {
		if c := s.cache.Load(); c != nil {
			if sk, st, known := c.staleSDKKey(hash); known {
				k, t, ok, err = sk, st, true, nil
			}
		}
	}
	if err != nil {
		return tenancy.Principal{}, err
	}
	if !ok {
		return tenancy.Principal{}, errBadKey
	}
	p, err := sdkKeyPrincipal(k, t)
	if c := s.cache.Load(); c != nil && err == nil {
		c.keyUsed(k.ID, s.DB.Now())
	}
	return p, err
}

// sdkKeyPrincipal is the principal of live key k of restaurant t, or the
// error that refuses it.
func sdkKeyPrincipal(k store.SDKKeyAuth, t store.TenantAuth) (tenancy.Principal, error) {
	if !t.Exists {
		return tenancy.Principal{}, errBadKey
	}
	if t.Status == tenancy.Suspended {
		return tenancy.Principal{}, apperr.Errorf(apperr.Forbidden, "restaurant is suspended")
	}
	return tenancy.Principal{UserID: k.ID, RestaurantID: k.RestaurantID, Role: tenancy.Customer,
		TokenID: sdkKeyTokenID, Status: t.Status}, nil
}

var errBadKey = apperr.Errorf(apperr.Unauthorized, "invalid or revoked SDK key")
