// Package auth proves who a caller is: password hashing, login, and signed
// tokens that can be revoked one at a time, per user or per tenant.
package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/crypto/bcrypt"

	"github.com/shimizu-tech/ordersuite/internal/apperr"
	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// TokenTTL is how long a token is valid.
const TokenTTL = 24 * time.Hour

// MinPasswordLength is the shortest password accepted for new credentials.
const MinPasswordLength = 10

// bcryptCost is a variable so tests can hash quickly.
var bcryptCost = bcrypt.DefaultCost

// HashPassword hashes a password for storage.
func HashPassword(password string) (string, error) {
	if len(password) < MinPasswordLength {
		return "", apperr.InvalidField("password", "must be at least %d characters", MinPasswordLength)
	}
	if len(password) > 72 { // bcrypt's limit; longer input would be silently cut
		return "", apperr.InvalidField("password", "must be at most 72 bytes")
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcryptCost)
	if err != nil {
		return "", fmt.Errorf("auth: hash password: %w", err)
	}
	return string(h), nil
}

// SetFastHashingForTests lowers the bcrypt cost; only tests call it.
func SetFastHashingForTests() { bcryptCost = bcrypt.MinCost }

// Claims is what a token carries.
type Claims struct {
	UserID       string `json:"user_id"`
	RestaurantID string `json:"restaurant_id,omitempty"`
	Role         string `json:"role"`
	// IssuedMicros orders a token against revocations made in the same second.
	IssuedMicros int64 `json:"iat_us"`
	jwt.RegisteredClaims
}

// Service issues and checks tokens and keys. Until Start it reads the state
// behind each from the database on every request; once started it serves
// that state from memory (see stateCache).
type Service struct {
	DB     *store.DB
	Secret []byte
	// CheckInterval is the safety net's period (DefaultCheckInterval when
	// zero).
	CheckInterval time.Duration
	Log           *slog.Logger
	// Throttle, when set, slows password and API-key guessing.
	Throttle *Throttle

	verified verifiedTokens

	cache  atomic.Pointer[stateCache]
	stop   context.CancelFunc
	done   sync.WaitGroup
	ready  chan struct{}
	cancel func()
}

// Start serves token and key state from memory, following every change:
// this process's own at once, other instances' through PostgreSQL
// notifications, and any that went unannounced through a version check
// each CheckInterval. Close stops it.
func (s *Service) Start(ctx context.Context) {
	log := s.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	interval := s.CheckInterval
	if interval <= 0 {
		interval = DefaultCheckInterval
	}
	c := newStateCache(s.DB, log)
	ctx, s.stop = context.WithCancel(context.WithoutCancel(ctx))
	s.cancel = s.DB.OnAuthChange(c.apply)
	s.ready = make(chan struct{})
	c.listening.Store(!s.DB.SupportsNotify())
	s.cache.Store(c)
	if s.DB.SupportsNotify() {
		s.done.Add(1)
		go func() {
			defer s.done.Done()
			c.listen(ctx, s.ready)
		}()
	} else {
		c.check(ctx)
		close(s.ready)
	}
	s.done.Add(2)
	go func() {
		defer s.done.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		lastPrune := time.Now()
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-t.C:
				c.check(ctx)
				if now.Sub(lastPrune) > time.Minute {
					c.pruneRevoked(s.DB.Now())
					lastPrune = now
				}
			}
		}
	}()
	go func() {
		defer s.done.Done()
		t := time.NewTicker(touchInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				c.flushUses(ctx)
			}
		}
	}()
}

// Ready is closed once state is served from memory for the first time.
func (s *Service) Ready() <-chan struct{} { return s.ready }

// Live tells whether token state is being served from memory right now.
func (s *Service) Live() bool {
	c := s.cache.Load()
	return c != nil && c.live.Load()
}

// ListenerPID is the PostgreSQL backend of the connection that listens for
// changes (0 when none).
func (s *Service) ListenerPID() uint32 {
	if c := s.cache.Load(); c != nil && c.listening.Load() {
		return c.listenPID.Load()
	}
	return 0
}

// Close stops following changes and writes the SDK key uses not yet
// written.
func (s *Service) Close() {
	c := s.cache.Load()
	if c == nil {
		return
	}
	s.stop()
	s.done.Wait()
	s.cancel()
	s.cache.Store(nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c.flushUses(ctx)
}

// liveCache is the cache when it may be trusted, nil otherwise.
func (s *Service) liveCache() *stateCache {
	if c := s.cache.Load(); c != nil && c.live.Load() {
		return c
	}
	return nil
}

// Issue signs a new token for u.
func (s *Service) Issue(u tenancy.User) (string, Claims, error) {
	now := s.DB.Now()
	c := Claims{
		UserID:       u.ID,
		RestaurantID: u.RestaurantID,
		Role:         string(u.Role),
		IssuedMicros: now.UnixMicro(),
		RegisteredClaims: jwt.RegisteredClaims{
			ID:        store.NewID(),
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(TokenTTL)),
		},
	}
	signed, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(s.Secret)
	if err != nil {
		return "", c, fmt.Errorf("auth: sign token: %w", err)
	}
	return signed, c, nil
}

var errBadToken = apperr.Errorf(apperr.Unauthorized, "invalid or expired token")

// Authenticate verifies a token and the current state behind it: the user
// still exists with the same role, and neither the token, the user's tokens
// nor the tenant's tokens were revoked since it was issued.
func (s *Service) Authenticate(ctx context.Context, token string) (tenancy.Principal, error) {
	return s.authenticate(ctx, token, false)
}

// AuthenticateAllowingStale is Authenticate for the routes that answer
// through a database outage (flag evaluation): while the database cannot
// be reached, a token or SDK key whose state this instance held is
// accepted on that state.
func (s *Service) AuthenticateAllowingStale(ctx context.Context, token string) (tenancy.Principal, error) {
	return s.authenticate(ctx, token, true)
}

func (s *Service) authenticate(ctx context.Context, token string, stale bool) (tenancy.Principal, error) {
	if strings.HasPrefix(token, SDKKeyPrefix) {
		return s.authenticateSDKKey(ctx, token, stale)
	}
	if strings.HasPrefix(token, APIKeyPrefix) {
		return s.authenticateAPIKey(ctx, token)
	}
	c, err := s.verify(token)
	if err != nil {
		return tenancy.Principal{}, err
	}
	role := tenancy.Role(c.role)
	if !role.Valid() || (role == tenancy.SuperAdmin) != (c.restaurantID == "") {
		return tenancy.Principal{}, errBadToken
	}
	var st store.TokenState
	if cache := s.liveCache(); cache != nil {
		st, err = cache.tokenState(ctx, c.userID, c.restaurantID, c.jti)
	} else {
		st, err = s.DB.TokenStateFor(ctx, c.userID, c.restaurantID, c.jti)
	}
	if err != nil && stale && store.Unavailable(err) {
		if cache := s.cache.Load(); cache != nil {
			if known, ok := cache.staleTokenState(c.userID, c.restaurantID, c.jti); ok {
				st, err = known, nil
			}
		}
	}
	if err != nil {
		return tenancy.Principal{}, err
	}
	issued := time.UnixMicro(c.issuedMicros)
	if !st.UserExists || st.Role != role || st.Revoked ||
		(!st.UserValidAfter.IsZero() && issued.Before(st.UserValidAfter)) ||
		(!st.TenantValidAfter.IsZero() && issued.Before(st.TenantValidAfter)) {
		return tenancy.Principal{}, errBadToken
	}
	if st.TenantStatus == tenancy.Suspended {
		return tenancy.Principal{}, apperr.Errorf(apperr.Forbidden, "restaurant is suspended")
	}
	return tenancy.Principal{
		UserID:       c.userID,
		RestaurantID: c.restaurantID,
		Role:         role,
		TokenID:      c.jti,
		TokenExpiry:  c.expires,
		Status:       st.TenantStatus,
	}, nil
}

// verify checks a token's signature, algorithm and expiry and returns its
// claims. A token verified before is not parsed again (verifiedTokens);
// its expiry is checked against the clock all the same, as the parser does
// (valid while now is before exp).
func (s *Service) verify(token string) (verifiedClaims, error) {
	if c, ok := s.verified.get(token); ok {
		if !s.DB.Now().Before(c.expires) {
			return verifiedClaims{}, errBadToken
		}
		return c, nil
	}
	var c Claims
	_, err := jwt.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return s.Secret, nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(s.DB.Now))
	if err != nil {
		return verifiedClaims{}, errBadToken
	}
	v := verifiedClaims{userID: c.UserID, restaurantID: c.RestaurantID, role: c.Role, jti: c.ID,
		issuedMicros: c.IssuedMicros, expires: c.ExpiresAt.Time}
	// Only tokens whose validity is their expiry alone are kept; ours carry
	// no not-before.
	if c.NotBefore == nil {
		s.verified.put(token, v)
	}
	return v, nil
}

// User is the caller's own row, as GET /api/v1/me shows it: from memory
// while token state is (the row is read with it and every change to it is
// announced like a revocation), else from the database. ctx carries the
// caller's tenant.
func (s *Service) User(ctx context.Context, p tenancy.Principal) (tenancy.User, error) {
	if c := s.liveCache(); c != nil {
		if u, ok := c.user(p.RestaurantID, p.UserID); ok {
			return u, nil
		}
	}
	if p.Role == tenancy.SuperAdmin {
		return s.DB.SuperAdmin(ctx, p.UserID)
	}
	return s.DB.User(ctx, p.UserID)
}

// Logout revokes the caller's own token.
func (s *Service) Logout(ctx context.Context, p tenancy.Principal) error {
	return s.DB.RevokeToken(ctx, p.TokenID, p.TokenExpiry)
}

// IsBadCredentials reports whether err is a failed login.
func IsBadCredentials(err error) bool { return errors.Is(err, ErrBadCredentials) }
