// Package auth proves who a caller is: password hashing, login, and signed
// tokens that can be revoked one at a time, per user or per tenant.
package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
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

// Service issues and checks tokens.
type Service struct {
	DB     *store.DB
	Secret []byte
	// Throttle, when set, slows password and API-key guessing.
	Throttle *Throttle
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
	if strings.HasPrefix(token, APIKeyPrefix) {
		return s.authenticateAPIKey(ctx, token)
	}
	var c Claims
	_, err := jwt.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return s.Secret, nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(s.DB.Now))
	if err != nil {
		return tenancy.Principal{}, errBadToken
	}
	role := tenancy.Role(c.Role)
	if !role.Valid() || (role == tenancy.SuperAdmin) != (c.RestaurantID == "") {
		return tenancy.Principal{}, errBadToken
	}
	st, err := s.DB.TokenStateFor(ctx, c.UserID, c.RestaurantID, c.ID)
	if err != nil {
		return tenancy.Principal{}, err
	}
	issued := time.UnixMicro(c.IssuedMicros)
	if !st.UserExists || st.Role != role || st.Revoked ||
		(!st.UserValidAfter.IsZero() && issued.Before(st.UserValidAfter)) ||
		(!st.TenantValidAfter.IsZero() && issued.Before(st.TenantValidAfter)) {
		return tenancy.Principal{}, errBadToken
	}
	if st.TenantStatus == tenancy.Suspended {
		return tenancy.Principal{}, apperr.Errorf(apperr.Forbidden, "restaurant is suspended")
	}
	return tenancy.Principal{
		UserID:       c.UserID,
		RestaurantID: c.RestaurantID,
		Role:         role,
		TokenID:      c.ID,
		TokenExpiry:  c.ExpiresAt.Time,
		Status:       st.TenantStatus,
	}, nil
}

// Logout revokes the caller's own token.
func (s *Service) Logout(ctx context.Context, p tenancy.Principal) error {
	return s.DB.RevokeToken(ctx, p.TokenID, p.TokenExpiry)
}

// IsBadCredentials reports whether err is a failed login.
func IsBadCredentials(err error) bool { return errors.Is(err, ErrBadCredentials) }
