package auth

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/apperr"
	"github.com/shimizu-tech/ordersuite/internal/store"
)

// ThrottlePolicy is how much password and API-key guessing is tolerated.
// The failures are counted over a sliding window in the database, so every
// serve instance applies the same counts.
//
//   - Account: after AccountLimit failed passwords for one e-mail within
//     Window, an address that has itself failed on that e-mail within the
//     window is refused (429) until enough of the failures leave the
//     window. An address that has not failed on it still gets its try, so
//     an attacker cannot lock the real user out: the owner signing in from
//     their own device is not refused, and a guesser needs a fresh address
//     for every further guess. Unknown e-mails are counted exactly like
//     known ones, so the answer tells nothing about the account.
//   - Address: after AddressLimit failed passwords from one address within
//     Window, whatever the accounts, the address is refused: spraying one
//     password over many accounts is throttled too.
//   - API keys: after APIKeyLimit refused keys from one address within
//     Window, the address's keys are refused without being looked up.
//
// Refused attempts are not counted as failures, so hammering a closed
// throttle does not keep it closed: it opens Window after the failures
// that closed it.
type ThrottlePolicy struct {
	Window       time.Duration
	AccountLimit int
	AddressLimit int
	APIKeyLimit  int
}

// DefaultThrottlePolicy: 10 failures per account, 50 per address and 20
// refused API keys per address within 15 minutes.
var DefaultThrottlePolicy = ThrottlePolicy{Window: 15 * time.Minute, AccountLimit: 10, AddressLimit: 50, APIKeyLimit: 20}

// Throttle applies a ThrottlePolicy over the failures stored in DB.
type Throttle struct {
	DB     *store.DB
	Policy ThrottlePolicy
}

// Throttled refuses an attempt until RetryAfter has passed.
type Throttled struct {
	Kind       string // account, address or api_key
	RetryAfter time.Duration
}

func (t *Throttled) Error() string {
	return fmt.Sprintf("auth: too many failed attempts (%s); retry in %s", t.Kind, t.RetryAfter)
}

// Unwrap is the caller-facing error: the same message whatever the kind,
// so it reveals nothing about the account.
func (t *Throttled) Unwrap() error {
	return apperr.Errorf(apperr.TooManyRequests, "too many failed attempts; try again in %d seconds", t.RetrySeconds())
}

// RetrySeconds is RetryAfter in whole seconds, at least 1.
func (t *Throttled) RetrySeconds() int {
	return max(1, int(math.Ceil(t.RetryAfter.Seconds())))
}

func (th *Throttle) windowStart() time.Time { return th.DB.Now().Add(-th.Policy.Window) }

// CheckLogin refuses a password attempt on email from ip while the
// throttle is closed for it.
func (th *Throttle) CheckLogin(ctx context.Context, email, ip string) error {
	start := th.windowStart()
	c, err := th.DB.CountLoginFailures(ctx, email, ip, start)
	if err != nil {
		return err
	}
	p := th.Policy
	if p.AddressLimit > 0 && c.Address >= p.AddressLimit {
		return th.refuse(ctx, "address", "ip", ip, start, c.Address-p.AddressLimit)
	}
	if p.AccountLimit > 0 && c.Account >= p.AccountLimit && c.AccountFromHere > 0 {
		return th.refuse(ctx, "account", "email", email, start, c.Account-p.AccountLimit)
	}
	return nil
}

// CheckAPIKey refuses API keys from ip while its throttle is closed.
func (th *Throttle) CheckAPIKey(ctx context.Context, ip string) error {
	start := th.windowStart()
	c, err := th.DB.CountLoginFailures(ctx, "", ip, start)
	if err != nil {
		return err
	}
	if th.Policy.APIKeyLimit > 0 && c.APIKeyFromHere >= th.Policy.APIKeyLimit {
		return th.refuseKind(ctx, "api_key", store.FailedAPIKey, "ip", ip, start, c.APIKeyFromHere-th.Policy.APIKeyLimit)
	}
	return nil
}

func (th *Throttle) refuse(ctx context.Context, kind, column, value string, start time.Time, n int) error {
	return th.refuseKind(ctx, kind, store.FailedPassword, column, value, start, n)
}

// refuseKind answers with the time until the n-th oldest failure in the
// window leaves it, when the count falls below the limit.
func (th *Throttle) refuseKind(ctx context.Context, kind, failure, column, value string, start time.Time, n int) error {
	retry := th.Policy.Window
	if at, err := th.DB.NthLoginFailure(ctx, failure, column, value, start, n); err == nil {
		retry = at.Add(th.Policy.Window).Sub(th.DB.Now())
	}
	return &Throttled{Kind: kind, RetryAfter: max(retry, time.Second)}
}

// Closed is a throttle that a failure has just closed.
type Closed struct {
	Kind     string // account, address or api_key
	Subject  string // the e-mail or the address
	Failures int
	Until    time.Time
}

// LoginFailed records a failed password for email from ip. It returns the
// failure's rank among the account's failures within rankWindow (for
// burst alerts) and the throttles this very failure closed: exactly one
// failure, on one instance, closes each.
func (th *Throttle) LoginFailed(ctx context.Context, email, ip string, rankWindow time.Duration) (rank int, closed []Closed, err error) {
	now := th.DB.Now()
	if rankWindow <= 0 {
		rankWindow = th.Policy.Window
	}
	rank, err = th.DB.RecordLoginFailure(ctx, email, ip, now.Add(-rankWindow))
	if err != nil {
		return 0, nil, err
	}
	accountRank := rank
	if rankWindow != th.Policy.Window {
		if accountRank, err = th.DB.RecordedLoginFailureRank(ctx, email, now.Add(-th.Policy.Window)); err != nil {
			return rank, nil, err
		}
	}
	until := now.Add(th.Policy.Window)
	if th.Policy.AccountLimit > 0 && accountRank == th.Policy.AccountLimit {
		closed = append(closed, Closed{Kind: "account", Subject: store.NormalizeLoginEmail(email), Failures: accountRank, Until: until})
	}
	addr, err := th.DB.AddressFailureRank(ctx, ip, now.Add(-th.Policy.Window))
	if err != nil {
		return rank, closed, err
	}
	if th.Policy.AddressLimit > 0 && addr == th.Policy.AddressLimit {
		closed = append(closed, Closed{Kind: "address", Subject: ip, Failures: addr, Until: until})
	}
	for _, c := range closed {
		if _, err := th.DB.RecordLoginThrottle(ctx, store.LoginThrottle{Kind: c.Kind, Subject: c.Subject, IP: ip, Failures: c.Failures, Until: c.Until}); err != nil {
			return rank, closed, err
		}
	}
	return rank, closed, nil
}

// APIKeyFailed records a refused API key from ip and reports the throttle
// it closed, if it did.
func (th *Throttle) APIKeyFailed(ctx context.Context, ip string) (*Closed, error) {
	now := th.DB.Now()
	rank, err := th.DB.RecordAPIKeyFailure(ctx, ip, now.Add(-th.Policy.Window))
	if err != nil || th.Policy.APIKeyLimit <= 0 || rank != th.Policy.APIKeyLimit {
		return nil, err
	}
	c := Closed{Kind: "api_key", Subject: ip, Failures: rank, Until: now.Add(th.Policy.Window)}
	_, err = th.DB.RecordLoginThrottle(ctx, store.LoginThrottle{Kind: c.Kind, Subject: ip, IP: ip, Failures: rank, Until: c.Until})
	return &c, err
}
