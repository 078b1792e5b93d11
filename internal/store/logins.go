package store

import (
	"context"
	"strings"
	"time"
)

// RecordLoginFailure stores a failed login for email and returns its rank
// among the address's failures since windowStart: 1 for the first, and so
// on. Ranks follow (created_at, id), so of several instances recording at
// once each failure gets its own rank and exactly one reaches any given
// number.
func (db *DB) RecordLoginFailure(ctx context.Context, email, ip string, windowStart time.Time) (int, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	id, now := NewID(), db.Now()
	if _, err := db.sql.ExecContext(ctx, `INSERT INTO login_failures (id, email, ip, created_at) VALUES ($1, $2, $3, $4)`,
		id, email, ip, now); err != nil {
		return 0, wrap("record login failure", err)
	}
	var rank int
	err := db.sql.QueryRowContext(ctx, `SELECT COUNT(*) FROM login_failures
		WHERE kind = 'password' AND email = $1 AND created_at >= $2 AND (created_at < $3 OR (created_at = $3 AND id <= $4))`,
		email, windowStart.UTC(), now, id).Scan(&rank)
	return rank, wrap("record login failure", err)
}

// PruneLoginFailures forgets failed logins older than cutoff.
func (db *DB) PruneLoginFailures(ctx context.Context, cutoff time.Time) (int64, error) {
	res, err := db.sql.ExecContext(ctx, `DELETE FROM login_failures WHERE created_at < $1`, cutoff.UTC())
	if err != nil {
		return 0, wrap("prune login failures", err)
	}
	return res.RowsAffected()
}
