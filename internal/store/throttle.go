package store

import (
	"context"
	"strings"
	"time"
)

// Kinds of failed credentials in login_failures.
const (
	FailedPassword = "password"
	FailedAPIKey   = "api_key"
)

// LoginThrottle is one closing of the login throttle.
type LoginThrottle struct {
	ID        string    `json:"id"`
	Kind      string    `json:"kind"`    // account, address or api_key
	Subject   string    `json:"subject"` // the account's e-mail or the client address
	IP        string    `json:"ip"`      // the address whose failure closed it
	Failures  int       `json:"failures"`
	CreatedAt time.Time `json:"created_at"`
	Until     time.Time `json:"until"`
}

// FailureCounts are the failed credentials within a window that the
// throttle weighs for one attempt.
type FailureCounts struct {
	Account         int // password failures for the e-mail, from anywhere
	AccountFromHere int // of those, from this address
	Address         int // password failures from this address, any account
	APIKeyFromHere  int // failed API keys from this address
}

// CountLoginFailures counts the failures after windowStart (a failure
// exactly one window old has left it) that concern an
// attempt on email (may be empty) from ip.
func (db *DB) CountLoginFailures(ctx context.Context, email, ip string, windowStart time.Time) (FailureCounts, error) {
	email = NormalizeLoginEmail(email)
	var c FailureCounts
	err := db.sql.QueryRowContext(ctx, `SELECT
			COALESCE(SUM(CASE WHEN kind = 'password' AND email = $1 THEN 1 ELSE 0 END), 0),
			COALESCE(SUM(CASE WHEN kind = 'password' AND email = $1 AND ip = $2 THEN 1 ELSE 0 END), 0),
			COALESCE(SUM(CASE WHEN kind = 'password' AND ip = $2 THEN 1 ELSE 0 END), 0),
			COALESCE(SUM(CASE WHEN kind = 'api_key' AND ip = $2 THEN 1 ELSE 0 END), 0)
		FROM login_failures WHERE created_at > $3 AND (email = $1 OR ip = $2)`,
		email, ip, windowStart.UTC()).Scan(&c.Account, &c.AccountFromHere, &c.Address, &c.APIKeyFromHere)
	return c, wrap("count login failures", err)
}

// NthLoginFailure returns the time of the n-th oldest (from 0) failure of
// kind since windowStart whose column (email or ip) equals value: the
// moment it leaves the window is when the count drops by one.
func (db *DB) NthLoginFailure(ctx context.Context, kind, column, value string, windowStart time.Time, n int) (time.Time, error) {
	if column != "email" && column != "ip" {
		column = "ip"
	}
	if column == "email" {
		value = NormalizeLoginEmail(value)
	}
	var t time.Time
	err := db.sql.QueryRowContext(ctx, `SELECT created_at FROM login_failures
		WHERE kind = $1 AND `+column+` = $2 AND created_at > $3
		ORDER BY created_at, id LIMIT 1 OFFSET $4`, kind, value, windowStart.UTC(), n).Scan(&t)
	return t.UTC(), wrap("read login failures", err)
}

// RecordAPIKeyFailure stores a refused API key from ip and returns its
// rank among the address's failed keys since windowStart.
func (db *DB) RecordAPIKeyFailure(ctx context.Context, ip string, windowStart time.Time) (int, error) {
	id, now := NewID(), db.Now()
	if _, err := db.sql.ExecContext(ctx, `INSERT INTO login_failures (id, email, ip, kind, created_at) VALUES ($1, '', $2, 'api_key', $3)`,
		id, ip, now); err != nil {
		return 0, wrap("record api key failure", err)
	}
	var rank int
	err := db.sql.QueryRowContext(ctx, `SELECT COUNT(*) FROM login_failures
		WHERE kind = 'api_key' AND ip = $1 AND created_at >= $2 AND (created_at < $3 OR (created_at = $3 AND id <= $4))`,
		ip, windowStart.UTC(), now, id).Scan(&rank)
	return rank, wrap("record api key failure", err)
}

// AddressFailureRank is the rank of the newest password failure from ip
// among the address's failures since windowStart.
func (db *DB) AddressFailureRank(ctx context.Context, ip string, windowStart time.Time) (int, error) {
	var n int
	err := db.sql.QueryRowContext(ctx, `SELECT COUNT(*) FROM login_failures
		WHERE kind = 'password' AND ip = $1 AND created_at > $2`, ip, windowStart.UTC()).Scan(&n)
	return n, wrap("count login failures", err)
}

// RecordLoginThrottle stores the closing of a throttle.
func (db *DB) RecordLoginThrottle(ctx context.Context, t LoginThrottle) (LoginThrottle, error) {
	t.ID, t.CreatedAt = NewID(), db.Now()
	t.Until = t.Until.UTC().Truncate(time.Microsecond)
	_, err := db.sql.ExecContext(ctx, `INSERT INTO login_throttles (id, kind, subject, ip, failures, created_at, until)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, t.ID, t.Kind, t.Subject, t.IP, t.Failures, t.CreatedAt, t.Until)
	return t, wrap("record login throttle", err)
}

// LoginThrottles lists the throttles closed since, newest first.
func (db *DB) LoginThrottles(ctx context.Context, since time.Time, limit int) ([]LoginThrottle, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT id, kind, subject, ip, failures, created_at, until FROM login_throttles
		WHERE created_at >= $1 ORDER BY created_at DESC, id DESC LIMIT $2`, since.UTC(), limit)
	if err != nil {
		return nil, wrap("read login throttles", err)
	}
	defer rows.Close()
	out := []LoginThrottle{}
	for rows.Next() {
		var t LoginThrottle
		if err := rows.Scan(&t.ID, &t.Kind, &t.Subject, &t.IP, &t.Failures, &t.CreatedAt, &t.Until); err != nil {
			return nil, wrap("read login throttles", err)
		}
		t.CreatedAt, t.Until = t.CreatedAt.UTC(), t.Until.UTC()
		out = append(out, t)
	}
	return out, wrap("read login throttles", rows.Err())
}

// PruneLoginThrottles forgets throttles closed before cutoff.
func (db *DB) PruneLoginThrottles(ctx context.Context, cutoff time.Time) (int64, error) {
	res, err := db.sql.ExecContext(ctx, `DELETE FROM login_throttles WHERE created_at < $1`, cutoff.UTC())
	if err != nil {
		return 0, wrap("prune login throttles", err)
	}
	return res.RowsAffected()
}

// NormalizeLoginEmail is how failed logins key an e-mail.
func NormalizeLoginEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// RecordedLoginFailureRank counts the password failures for email since
// windowStart, the newest included.
func (db *DB) RecordedLoginFailureRank(ctx context.Context, email string, windowStart time.Time) (int, error) {
	var n int
	err := db.sql.QueryRowContext(ctx, `SELECT COUNT(*) FROM login_failures
		WHERE kind = 'password' AND email = $1 AND created_at > $2`, NormalizeLoginEmail(email), windowStart.UTC()).Scan(&n)
	return n, wrap("count login failures", err)
}
