package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/apperr"
)

// SDKKey is a restaurant's flag evaluation key (its secret is never stored).
type SDKKey struct {
	ID           string     `json:"id"`
	RestaurantID string     `json:"restaurant_id"`
	Name         string     `json:"name"`
	CreatedAt    time.Time  `json:"created_at"`
	LastUsedAt   *time.Time `json:"last_used_at"`
	RevokedAt    *time.Time `json:"revoked_at"`
}

const sdkKeyColumns = `id, restaurant_id, name, created_at, last_used_at, revoked_at`

func scanSDKKey(row interface{ Scan(...any) error }) (SDKKey, error) {
	var k SDKKey
	var used, revoked nullTime
	err := row.Scan(&k.ID, &k.RestaurantID, &k.Name, &k.CreatedAt, &used, &revoked)
	k.CreatedAt = k.CreatedAt.UTC()
	if used.Valid {
		t := used.Time.UTC()
		k.LastUsedAt = &t
	}
	if revoked.Valid {
		t := revoked.Time.UTC()
		k.RevokedAt = &t
	}
	return k, err
}

// CreateSDKKey records a key of the tenant in ctx by the hash of its secret.
func (db *DB) CreateSDKKey(ctx context.Context, name, keyHash string) (SDKKey, error) {
	rid, err := tenant(ctx)
	if err != nil {
		return SDKKey{}, err
	}
	k := SDKKey{ID: NewID(), RestaurantID: rid, Name: name, CreatedAt: db.Now()}
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO sdk_keys (id, restaurant_id, name, key_hash, created_at) VALUES ($1, $2, $3, $4, $5)`,
			k.ID, rid, name, keyHash, k.CreatedAt); err != nil {
			return db.dbError(err, "create", "SDK key")
		}
		if err := db.authChanged(ctx, tx, AuthChange{Kind: AuthSDKKey, RestaurantID: rid, ID: k.ID}); err != nil {
			return err
		}
		return db.audit(ctx, tx, "create", "sdk_key", k.ID, nil, k)
	})
	return k, err
}

// SDKKeys lists the keys of the tenant in ctx, revoked ones included, newest
// first.
func (db *DB) SDKKeys(ctx context.Context) ([]SDKKey, error) {
	rid, err := tenant(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := db.sql.QueryContext(ctx, `SELECT `+sdkKeyColumns+` FROM sdk_keys WHERE restaurant_id = $1 ORDER BY created_at DESC, id`, rid)
	if err != nil {
		return nil, fmt.Errorf("store: list sdk keys: %w", err)
	}
	defer rows.Close()
	out := []SDKKey{}
	for rows.Next() {
		k, err := scanSDKKey(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list sdk keys: %w", err)
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// RevokeSDKKey stops a key of the tenant in ctx from working.
// Errors: NotFound when the tenant has no live key with the id.
func (db *DB) RevokeSDKKey(ctx context.Context, id string) (SDKKey, error) {
	rid, err := tenant(ctx)
	if err != nil {
		return SDKKey{}, err
	}
	if !ValidID(id) {
		return SDKKey{}, apperr.Errorf(apperr.NotFound, "SDK key not found")
	}
	var after SDKKey
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		before, err := scanSDKKey(tx.QueryRowContext(ctx, `SELECT `+sdkKeyColumns+` FROM sdk_keys WHERE restaurant_id = $1 AND id = $2`, rid, id))
		if err := notFound(err, "SDK key"); err != nil {
			return err
		}
		if before.RevokedAt != nil {
			return apperr.Errorf(apperr.NotFound, "SDK key not found")
		}
		now := db.Now()
		res, err := tx.ExecContext(ctx, `UPDATE sdk_keys SET revoked_at = $1 WHERE restaurant_id = $2 AND id = $3 AND revoked_at IS NULL`, now, rid, id)
		if err != nil {
			return fmt.Errorf("store: revoke sdk key: %w", err)
		}
		if err := changedOne(res, "SDK key"); err != nil {
			return err
		}
		after = before
		after.RevokedAt = &now
		if err := db.authChanged(ctx, tx, AuthChange{Kind: AuthSDKKey, RestaurantID: rid, ID: id}); err != nil {
			return err
		}
		return db.audit(ctx, tx, "revoke", "sdk_key", id, before, after)
	})
	return after, err
}

// SDKKeyAuth is what authentication needs of a live key.
type SDKKeyAuth struct {
	ID           string
	RestaurantID string
	Name         string
	Hash         string
}

// LiveSDKKeys lists every live key of every restaurant.
func (db *DB) LiveSDKKeys(ctx context.Context) ([]SDKKeyAuth, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT id, restaurant_id, name, key_hash FROM sdk_keys WHERE revoked_at IS NULL`)
	if err != nil {
		return nil, fmt.Errorf("store: live sdk keys: %w", err)
	}
	defer rows.Close()
	var out []SDKKeyAuth
	for rows.Next() {
		var k SDKKeyAuth
		if err := rows.Scan(&k.ID, &k.RestaurantID, &k.Name, &k.Hash); err != nil {
			return nil, fmt.Errorf("store: live sdk keys: %w", err)
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// SDKKeyByHash finds a live key by the hash of its secret; ok is false for
// an unknown or revoked key.
func (db *DB) SDKKeyByHash(ctx context.Context, keyHash string) (k SDKKeyAuth, ok bool, err error) {
	err = db.sql.QueryRowContext(ctx, `SELECT id, restaurant_id, name, key_hash FROM sdk_keys WHERE key_hash = $1 AND revoked_at IS NULL`, keyHash).
		Scan(&k.ID, &k.RestaurantID, &k.Name, &k.Hash)
	if err == sql.ErrNoRows {
		return k, false, nil
	}
	if err != nil {
		return k, false, fmt.Errorf("store: sdk key: %w", err)
	}
	return k, true, nil
}

// TouchSDKKeys records when keys were last used, in one transaction (the
// callers batch uses instead of writing one per request).
func (db *DB) TouchSDKKeys(ctx context.Context, used map[string]time.Time) error {
	if len(used) == 0 {
		return nil
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		for id, at := range used {
			if _, err := tx.ExecContext(ctx, `UPDATE sdk_keys SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $1)`,
				at.UTC().Truncate(time.Microsecond), id); err != nil {
				return fmt.Errorf("store: sdk key last use: %w", err)
			}
		}
		return nil
	})
}
