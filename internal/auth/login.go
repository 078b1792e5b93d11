package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/crypto/bcrypt"

	"github.com/shimizu-tech/ordersuite/internal/apperr"
	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// ErrBadCredentials is the one answer for a wrong e-mail or password, so a
// caller cannot tell which was wrong.
var ErrBadCredentials = apperr.Errorf(apperr.Unauthorized, "invalid email or password")

// dummyHash keeps the time of a login for an unknown e-mail close to that of
// a wrong password: a hash at the cost passwords are hashed at. Made on
// first use, not when the package loads, so that a process that never
// answers a login (every CLI command but serve) does not pay for it, and
// at the cost tests lower.
var dummyHash = sync.OnceValue(func() []byte {
	h, _ := bcrypt.GenerateFromPassword([]byte("ordersuite-timing-equaliser"), bcryptCost)
	return h
})

// Account is one restaurant where a person's password verified.
type Account struct {
	RestaurantID   string       `json:"id"`
	RestaurantName string       `json:"name"`
	Role           tenancy.Role `json:"role"`
	user           tenancy.User
}

// ChooseRestaurant is Login's answer when the password verifies for the
// same e-mail in several restaurants (after a restore as new or a clone):
// the caller picks one and logs in again naming it. It is only ever
// returned once the password is verified, so it reveals nothing to someone
// who does not know the password.
type ChooseRestaurant struct {
	Email    string
	Accounts []Account // by restaurant name; suspended restaurants are left out
}

func (e *ChooseRestaurant) Error() string {
	return fmt.Sprintf("auth: the password verifies in %d restaurants; choose one", len(e.Accounts))
}

// User returns the verified user of the account in restaurantID.
func (e *ChooseRestaurant) User(restaurantID string) (tenancy.User, bool) {
	for _, a := range e.Accounts {
		if a.RestaurantID == restaurantID {
			return a.user, true
		}
	}
	return tenancy.User{}, false
}

// Login finds the user behind email and password. restaurantID narrows the
// search when the same e-mail exists in several tenants. Without it, a
// platform operator whose password verifies is signed in as such; when the
// password verifies in several restaurants the answer is a
// *ChooseRestaurant listing them.
func (s *Service) Login(ctx context.Context, email, password, restaurantID string) (tenancy.User, error) {
	if email == "" {
		return tenancy.User{}, apperr.InvalidField("email", "is required")
	}
	if password == "" {
		return tenancy.User{}, apperr.InvalidField("password", "is required")
	}
	var operator *tenancy.User
	if restaurantID == "" {
		if sa, err := s.DB.SuperAdminByEmail(ctx, email); err == nil {
			operator = &sa
		} else if !apperr.Is(err, apperr.NotFound) {
			return tenancy.User{}, err
		}
	}
	all, err := s.DB.LoginCandidatesByEmail(ctx, email)
	if err != nil {
		return tenancy.User{}, err
	}
	var candidates []store.LoginCandidate
	for _, c := range all {
		if restaurantID == "" || c.User.RestaurantID == restaurantID {
			candidates = append(candidates, c)
		}
	}
	if len(candidates) == 0 && operator == nil {
		_ = bcrypt.CompareHashAndPassword(dummyHash(), []byte(password))
		return tenancy.User{}, ErrBadCredentials
	}
	// Every distinct hash is checked, even after a match, so the time taken
	// does not tell whether the password is right nor which account it opens.
	// A clone or a restore as new copies hashes verbatim: its accounts cost
	// one check, not one each.
	verified := map[string]bool{}
	verify := func(hash string) bool {
		ok, seen := verified[hash]
		if !seen {
			ok = bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil
			verified[hash] = ok
		}
		return ok
	}
	operatorOK := operator != nil && verify(operator.PasswordHash)
	var matched []store.LoginCandidate
	for _, c := range candidates {
		if verify(c.User.PasswordHash) {
			matched = append(matched, c)
		}
	}
	if operatorOK {
		return *operator, nil
	}
	if len(matched) == 0 {
		return tenancy.User{}, ErrBadCredentials
	}
	var open []Account
	for _, m := range matched {
		if m.RestaurantStatus != tenancy.Suspended {
			open = append(open, Account{RestaurantID: m.User.RestaurantID, RestaurantName: m.RestaurantName, Role: m.User.Role, user: m.User})
		}
	}
	switch len(open) {
	case 0:
		return tenancy.User{}, apperr.Errorf(apperr.Forbidden, "restaurant is suspended")
	case 1:
		return open[0].user, nil
	}
	return tenancy.User{}, &ChooseRestaurant{Email: store.NormalizeEmail(email), Accounts: open}
}

// ChoiceTicketTTL is how long the choice of restaurant may wait after the
// password was verified.
const ChoiceTicketTTL = 10 * time.Minute

// ErrChoiceExpired answers a ticket that is forged, expired, or issued to
// another browser: the person signs in again.
var ErrChoiceExpired = apperr.Errorf(apperr.Unauthorized, "the choice of restaurant has expired; sign in again")

type ticketAccount struct {
	RestaurantID string `json:"rid"`
	UserID       string `json:"uid"`
	// Password is a keyed digest of the password hash, so a password
	// changed since the ticket was issued voids it.
	Password string `json:"pwd"`
}

type ticketClaims struct {
	Email    string          `json:"email"`
	Accounts []ticketAccount `json:"accounts"`
	Binding  string          `json:"bnd"`
	jwt.RegisteredClaims
}

// ticketKey is derived from the token secret so a ticket can never pass for
// a session token, nor the reverse.
func (s *Service) ticketKey() []byte {
	mac := hmac.New(sha256.New, s.Secret)
	mac.Write([]byte("ordersuite login choice ticket"))
	return mac.Sum(nil)
}

func (s *Service) passwordDigest(hash string) string {
	mac := hmac.New(sha256.New, s.ticketKey())
	mac.Write([]byte(hash))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil)[:16])
}

// ChoiceTicket signs the outcome of a verified password so that a second
// step can pick one of its accounts without the password travelling again.
// binding ties the ticket to the browser that asked (a value only that
// browser holds, such as its sign-in cookie).
func (s *Service) ChoiceTicket(c *ChooseRestaurant, binding string) (string, error) {
	if binding == "" {
		return "", fmt.Errorf("auth: choice ticket needs a binding")
	}
	now := s.DB.Now()
	claims := ticketClaims{Email: c.Email, Binding: binding, RegisteredClaims: jwt.RegisteredClaims{
		IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(ChoiceTicketTTL))}}
	for _, a := range c.Accounts {
		claims.Accounts = append(claims.Accounts, ticketAccount{RestaurantID: a.RestaurantID, UserID: a.user.ID,
			Password: s.passwordDigest(a.user.PasswordHash)})
	}
	signed, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(s.ticketKey())
	if err != nil {
		return "", fmt.Errorf("auth: sign choice ticket: %w", err)
	}
	return signed, nil
}

// LoginWithTicket completes a login from a ChoiceTicket: restaurantID must
// be one the ticket lists, its user unchanged since (same e-mail, same
// password) and the restaurant not suspended.
func (s *Service) LoginWithTicket(ctx context.Context, ticket, binding, restaurantID string) (tenancy.User, error) {
	var c ticketClaims
	_, err := jwt.ParseWithClaims(ticket, &c, func(*jwt.Token) (any, error) { return s.ticketKey(), nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithExpirationRequired(), jwt.WithTimeFunc(s.DB.Now))
	if err != nil || binding == "" || subtle.ConstantTimeCompare([]byte(c.Binding), []byte(binding)) != 1 {
		return tenancy.User{}, ErrChoiceExpired
	}
	var chosen *ticketAccount
	for i := range c.Accounts {
		if c.Accounts[i].RestaurantID == restaurantID {
			chosen = &c.Accounts[i]
		}
	}
	if chosen == nil {
		return tenancy.User{}, apperr.InvalidField("restaurant_id", "is not one of the restaurants offered")
	}
	u, err := s.DB.User(tenancy.WithTenant(ctx, chosen.RestaurantID), chosen.UserID)
	if apperr.Is(err, apperr.NotFound) {
		return tenancy.User{}, ErrChoiceExpired
	}
	if err != nil {
		return tenancy.User{}, err
	}
	if u.Email != c.Email || !hmac.Equal([]byte(s.passwordDigest(u.PasswordHash)), []byte(chosen.Password)) {
		return tenancy.User{}, ErrChoiceExpired
	}
	r, err := s.DB.Restaurant(ctx, u.RestaurantID)
	if err != nil {
		return tenancy.User{}, err
	}
	if r.Status == tenancy.Suspended {
		return tenancy.User{}, apperr.Errorf(apperr.Forbidden, "restaurant is suspended")
	}
	return u, nil
}
