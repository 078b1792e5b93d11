package auth

import (
	"sync"
	"time"
)

// maxVerifiedTokens bounds the memo of verified tokens; when it is full it
// starts again empty (a token not in it is simply verified again).
const maxVerifiedTokens = 10000

// verifiedClaims is what Authenticate reads from a token whose signature
// and form it has checked once.
type verifiedClaims struct {
	userID, restaurantID, role, jti string
	issuedMicros                    int64
	expires                         time.Time
}

// verifiedTokens remembers the claims of tokens already parsed and verified,
// so a token presented again is not decoded and its HMAC not computed again.
// The string is the whole signed token, so a hit is the same signature over
// the same claims. Only what cannot change is kept: expiry is compared with
// the clock on every request, and everything that can (revocation, role,
// tenant status) is still checked from the auth state.
type verifiedTokens struct {
	mu sync.RWMutex
	m  map[string]verifiedClaims
}

func (v *verifiedTokens) get(token string) (verifiedClaims, bool) {
	v.mu.RLock()
	c, ok := v.m[token]
	v.mu.RUnlock()
	return c, ok
}

func (v *verifiedTokens) put(token string, c verifiedClaims) {
	v.mu.Lock()
	if v.m == nil || len(v.m) >= maxVerifiedTokens {
		v.m = make(map[string]verifiedClaims)
	}
	v.m[token] = c
	v.mu.Unlock()
}
