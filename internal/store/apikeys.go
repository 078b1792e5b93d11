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
	_, err := db.sql.ExecContext(ctx, `INSERT INTO api_keys (id, name, key_hash, created_at) VALUES ($1, $2, $3, $4)`,
		k.ID, name, keyHash, k.CreatedAt)
	if db.isUniqueViolation(err) {
		return k, apperr.Errorf(apperr.Conflict, "an API key named %q exists", name)
	}
	if err != nil {
		return k, fmt.Errorf("store: create api key: %w", err)
	}
	return k, nil
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
	res, err := db.sql.ExecContext(ctx, `UPDATE api_keys SET revoked_at = $1 WHERE name = $2 AND revoked_at IS NULL`, db.Now(), name)
	if err != nil {
		return fmt.Errorf("store: revoke api key: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return apperr.Errorf(apperr.NotFound, "no live API key named %q", name)
	}
	return nil
}
