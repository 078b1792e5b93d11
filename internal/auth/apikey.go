package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"

	"github.com/shimizu-tech/ordersuite/internal/apperr"
	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// APIKeyPrefix starts every installation API key, so a key is told from a
// JWT at a glance (and found by secret scanners).
const APIKeyPrefix = "osk_"

// apiKeyTokenID marks a principal authenticated by an API key.
const apiKeyTokenID = "api_key"

// NewAPIKey returns a fresh key and the hash to store.
func NewAPIKey() (key, hash string, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", "", err
	}
	key = APIKeyPrefix + base64.RawURLEncoding.EncodeToString(b)
	return key, HashAPIKey(key), nil
}

// HashAPIKey is what is stored of a key: keys are long random strings, so a
// plain SHA-256 suffices (no password stretching needed).
func HashAPIKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// IsAPIKey reports whether a principal came from an API key; the router
// lets such callers reach only the routes marked for keys.
func IsAPIKey(p tenancy.Principal) bool { return p.TokenID == apiKeyTokenID }

// authenticateAPIKey turns a live key into an operator principal.
func (s *Service) authenticateAPIKey(ctx context.Context, key string) (tenancy.Principal, error) {
	if !strings.HasPrefix(key, APIKeyPrefix) {
		return tenancy.Principal{}, errBadToken
	}
	var k store.APIKeyAuth
	if cache := s.liveCache(); cache != nil {
		// From memory: revocations are announced like every other change,
		// and the last use is written in batches.
		found, ok, err := cache.apiKey(ctx, HashAPIKey(key))
		if err != nil {
			return tenancy.Principal{}, err
		}
		if !ok {
			return tenancy.Principal{}, errBadToken
		}
		cache.apiKeyUsed(found.ID, s.DB.Now())
		k = found
	} else {
		found, err := s.DB.APIKeyByHash(ctx, HashAPIKey(key))
		if err != nil {
			if apperr.Is(err, apperr.Unauthorized) {
				return tenancy.Principal{}, errBadToken
			}
			return tenancy.Principal{}, err
		}
		k = store.APIKeyAuth{ID: found.ID, Name: found.Name}
	}
	// The role opens the routes marked for keys; everything else about a key
	// (what it may do there, how it is audited) goes by APIKeyName.
	return tenancy.Principal{UserID: k.ID, Role: tenancy.SuperAdmin, TokenID: apiKeyTokenID, APIKeyName: k.Name}, nil
}
