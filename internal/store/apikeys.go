package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/apperr"
)

// APIKey is an installation key (its secret is never stored).
type APIKey struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
}

const apiKeyColumns = `id, name, created_at, last_used_at, revoked_at`

func scanAPIKey(row interface{ Scan(...any) error }) (APIKey, error) {
	var k APIKey
	var used, revoked nullTime
	err := row.Scan(&k.ID, &k.Name, &k.CreatedAt, &used, &revoked)
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

// CreateAPIKey records a key by the hash of its secret. Platform-level.
// Errors: Conflict when a key has the name.
func (db *DB) CreateAPIKey(ctx context.Context, name, keyHash string) (APIKey, error) {
	k := APIKey{ID: NewID(), Name: name, CreatedAt: db.Now()}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO api_keys (id, name, key_hash, created_at) VALUES ($1, $2, $3, $4)`,
			k.ID, name, keyHash, k.CreatedAt)
		if db.isUniqueViolation(err) {
			return apperr.Errorf(apperr.Conflict, "an API key named %q exists", name)
		}
		if err != nil {
			return fmt.Errorf("store: create api key: %w", err)
		}
		return db.authChanged(ctx, tx, AuthChange{Kind: AuthAPIKey, ID: k.ID})
	})
	return k, err
}

// APIKeyByHash finds a live key and records its use.
// Errors: Unauthorized for an unknown or revoked key.
func (db *DB) APIKeyByHash(ctx context.Context, keyHash string) (APIKey, error) {
	k, err := scanAPIKey(db.sql.QueryRowContext(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL`, keyHash))
	if err == sql.ErrNoRows {
		return k, apperr.Errorf(apperr.Unauthorized, "invalid API key")
	}
	if err != nil {
		return k, fmt.Errorf("store: api key: %w", err)
	}
	_, _ = db.sql.ExecContext(ctx, `UPDATE api_keys SET last_used_at = $1 WHERE id = $2`, db.Now(), k.ID)
	return k, nil
}

// APIKeyAuth is what authentication needs of a live API key.
type APIKeyAuth struct {
	ID, Name, Hash string
}

// LiveAPIKeys lists the keys not revoked, for the in-memory auth state.
func (db *DB) LiveAPIKeys(ctx context.Context) ([]APIKeyAuth, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT id, name, key_hash FROM api_keys WHERE revoked_at IS NULL`)
	if err != nil {
		return nil, fmt.Errorf("store: live api keys: %w", err)
	}
	defer rows.Close()
	var out []APIKeyAuth
	for rows.Next() {
		var k APIKeyAuth
		if err := rows.Scan(&k.ID, &k.Name, &k.Hash); err != nil {
			return nil, fmt.Errorf("store: live api keys: %w", err)
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// LiveAPIKeyByHash finds a live key by the hash of its secret, without
// recording its use; ok is false for an unknown or revoked key.
func (db *DB) LiveAPIKeyByHash(ctx context.Context, keyHash string) (k APIKeyAuth, ok bool, err error) {
	err = db.sql.QueryRowContext(ctx, `SELECT id, name, key_hash FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL`, keyHash).
		Scan(&k.ID, &k.Name, &k.Hash)
	if err == sql.ErrNoRows {
		return k, false, nil
	}
	if err != nil {
		return k, false, fmt.Errorf("store: api key: %w", err)
	}
	return k, true, nil
}

// TouchAPIKeys records when keys were last used, in one transaction (the
// auth state batches uses instead of writing one per request).
func (db *DB) TouchAPIKeys(ctx context.Context, used map[string]time.Time) error {
	if len(used) == 0 {
		return nil
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		for id, at := range used {
			if _, err := tx.ExecContext(ctx, `UPDATE api_keys SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $1)`,
				at.UTC().Truncate(time.Microsecond), id); err != nil {
				return fmt.Errorf("store: api key last use: %w", err)
			}
		}
		return nil
	})
}

// APIKeys lists every key.
func (db *DB) APIKeys(ctx context.Context) ([]APIKey, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT `+apiKeyColumns+` FROM api_keys ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("store: list api keys: %w", err)
	}
	defer rows.Close()
	var out []APIKey
	for rows.Next() {
		k, err := scanAPIKey(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// RevokeAPIKey stops a key from working.
// Errors: NotFound when there is no such key.
func (db *DB) RevokeAPIKey(ctx context.Context, name string) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		var id string
		err := tx.QueryRowContext(ctx, `UPDATE api_keys SET revoked_at = $1 WHERE name = $2 AND revoked_at IS NULL RETURNING id`, db.Now(), name).Scan(&id)
		if err == sql.ErrNoRows {
			return apperr.Errorf(apperr.NotFound, "no live API key named %q", name)
		}
		if err != nil {
			return fmt.Errorf("store: revoke api key: %w", err)
		}
		return db.authChanged(ctx, tx, AuthChange{Kind: AuthAPIKey, ID: id})
	})
}
