package store

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// AuthChangeKind says which part of the authentication state changed.
type AuthChangeKind string

const (
	// AuthUser: a user's (or, with no restaurant, an operator's) role,
	// password, existence or token cut-off.
	AuthUser AuthChangeKind = "u"
	// AuthTenant: a restaurant's status or token cut-off, or its users as a
	// whole (a restore replaces them).
	AuthTenant AuthChangeKind = "t"
	// AuthToken: one token was logged out; ID is its jti.
	AuthToken AuthChangeKind = "j"
	// AuthSDKKey: an SDK key was created or revoked.
	AuthSDKKey AuthChangeKind = "k"
	// AuthAPIKey: an installation API key was created or revoked.
	AuthAPIKey AuthChangeKind = "a"
)

// AuthChange is one committed change to what authentication depends on. Version
// is the auth_state version the change's transaction wrote: versions grow by
// one per change, in commit order, so a reader that saw every version up to
// n knows it missed nothing.
type AuthChange struct {
	Version      int64
	Kind         AuthChangeKind
	RestaurantID string
	ID           string
	// Expires is when a logged-out token would have expired anyway.
	Expires time.Time
}

func (c AuthChange) payload() string {
	var exp int64
	if !c.Expires.IsZero() {
		exp = c.Expires.UnixMicro()
	}
	return strconv.FormatInt(c.Version, 10) + "|" + string(c.Kind) + "|" + c.RestaurantID + "|" + c.ID + "|" + strconv.FormatInt(exp, 10)
}

// ParseAuthChange reads a notification payload; ok is false for anything
// that is not one.
func ParseAuthChange(payload string) (AuthChange, bool) {
	f := strings.Split(payload, "|")
	if len(f) != 5 {
		return AuthChange{}, false
	}
	v, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil {
		return AuthChange{}, false
	}
	exp, err := strconv.ParseInt(f[4], 10, 64)
	if err != nil {
		return AuthChange{}, false
	}
	c := AuthChange{Version: v, Kind: AuthChangeKind(f[1]), RestaurantID: f[2], ID: f[3]}
	if exp != 0 {
		c.Expires = time.UnixMicro(exp).UTC()
	}
	return c, true
}

// authHub carries authentication changes to the subscribers of this
// process when their transaction commits. It is shared by every view of
// one DB (WithClock).
type authHub struct {
	// channel is the notification channel: per schema, so installations
	// (and test schemas) sharing one PostgreSQL server do not hear each
	// other.
	channel string

	mu      sync.Mutex
	subs    map[int]func(AuthChange)
	nextSub int
	pending map[*sql.Tx][]AuthChange
}

func newAuthHub() *authHub {
	return &authHub{channel: "ordersuite_auth", subs: map[int]func(AuthChange){}, pending: map[*sql.Tx][]AuthChange{}}
}

// OnAuthChange calls fn, synchronously after each commit, with every
// authentication change made through this process's handle on the
// database; other processes' changes arrive through ListenAuthChanges (or
// the version check). The returned function unsubscribes.
func (db *DB) OnAuthChange(fn func(AuthChange)) (cancel func()) {
	h := db.auth
	h.mu.Lock()
	defer h.mu.Unlock()
	id := h.nextSub
	h.nextSub++
	h.subs[id] = fn
	return func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		delete(h.subs, id)
	}
}

// authChanged records a change in tx: the version moves, every instance
// is notified when tx commits, and this process's subscribers are told
// right after the commit.
func (db *DB) authChanged(ctx context.Context, tx *sql.Tx, c AuthChange) error {
	if err := tx.QueryRowContext(ctx, `UPDATE auth_state SET version = version + 1 WHERE id = 1 RETURNING version`).
		Scan(&c.Version); err != nil {
		return fmt.Errorf("store: auth state version: %w", err)
	}
	if err := db.dialect.notify(ctx, tx, db.auth.channel, c.payload()); err != nil {
		return fmt.Errorf("store: announce auth change: %w", err)
	}
	h := db.auth
	h.mu.Lock()
	h.pending[tx] = append(h.pending[tx], c)
	h.mu.Unlock()
	return nil
}

// txEnded publishes (committed) or forgets the changes recorded in tx.
func (db *DB) txEnded(tx *sql.Tx, committed bool) {
	h := db.auth
	h.mu.Lock()
	changes := h.pending[tx]
	delete(h.pending, tx)
	var subs []func(AuthChange)
	if committed && len(changes) > 0 {
		for _, fn := range h.subs {
			subs = append(subs, fn)
		}
	}
	h.mu.Unlock()
	for _, c := range changes {
		for _, fn := range subs {
			fn(c)
		}
	}
}

// AuthVersion is the current auth_state version: the safety net's cheap
// query.
func (db *DB) AuthVersion(ctx context.Context) (int64, error) {
	var v int64
	err := db.sql.QueryRowContext(ctx, `SELECT version FROM auth_state WHERE id = 1`).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("store: auth state version: %w", err)
	}
	return v, nil
}

// ListenAuthChanges holds one PostgreSQL connection listening for
// authentication changes and calls changed with each until ctx ends or the
// connection fails; the caller reconnects. ready is called once listening.
// Where notifications are not supported it returns nil at once.
func (db *DB) ListenAuthChanges(ctx context.Context, ready func(backendPID uint32), changed func(AuthChange)) error {
	return db.dialect.listen(ctx, db, `"`+db.auth.channel+`"`, ready, func(payload string) {
		if c, ok := ParseAuthChange(payload); ok {
			changed(c)
		}
	})
}

// TenantAuth is the state behind every token of one restaurant.
type TenantAuth struct {
	Exists     bool
	Status     tenancy.Status
	ValidAfter time.Time
}

// TenantAuthState reads a restaurant's token state.
func (db *DB) TenantAuthState(ctx context.Context, restaurantID string) (TenantAuth, error) {
	var t TenantAuth
	if !ValidID(restaurantID) {
		return t, nil
	}
	var status string
	var after nullTime
	err := db.sql.QueryRowContext(ctx, `SELECT status, tokens_valid_after FROM restaurants WHERE id = $1`, restaurantID).
		Scan(&status, &after)
	if err == sql.ErrNoRows {
		return t, nil
	}
	if err != nil {
		return t, fmt.Errorf("store: restaurant token state: %w", err)
	}
	return TenantAuth{Exists: true, Status: tenancy.Status(status), ValidAfter: after.Time}, nil
}

// RevokedTokens lists the logged-out tokens that have not yet expired, by
// jti, with their expiry.
func (db *DB) RevokedTokens(ctx context.Context) (map[string]time.Time, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT jti, expires_at FROM revoked_tokens WHERE expires_at >= $1`, db.Now())
	if err != nil {
		return nil, fmt.Errorf("store: revoked tokens: %w", err)
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var jti string
		var exp time.Time
		if err := rows.Scan(&jti, &exp); err != nil {
			return nil, fmt.Errorf("store: revoked tokens: %w", err)
		}
		out[jti] = exp.UTC()
	}
	return out, rows.Err()
}

// TokenRevoked tells whether one token was logged out.
func (db *DB) TokenRevoked(ctx context.Context, jti string) (bool, error) {
	var revoked bool
	err := db.sql.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM revoked_tokens WHERE jti = $1)`, jti).Scan(&revoked)
	if err != nil {
		return false, fmt.Errorf("store: token revoked: %w", err)
	}
	return revoked, nil
}
