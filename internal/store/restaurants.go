package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/apperr"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

const restaurantColumns = `id, name, prefix, status, currency, created_at, updated_at`

func scanRestaurant(row interface{ Scan(...any) error }) (tenancy.Restaurant, error) {
	var r tenancy.Restaurant
	err := row.Scan(&r.ID, &r.Name, &r.Prefix, &r.Status, &r.Currency, &r.CreatedAt, &r.UpdatedAt)
	r.CreatedAt, r.UpdatedAt = r.CreatedAt.UTC(), r.UpdatedAt.UTC()
	return r, err
}

// lockRestaurant reads a restaurant row and holds it until the transaction
// ends, so writes to one tenant's row (a restore, a status change, a token
// revocation) take turns instead of losing each other. SQLite needs no row
// lock: its immediate transactions already serialise writers.
func (db *DB) lockRestaurant(ctx context.Context, tx *sql.Tx, id string) (tenancy.Restaurant, error) {
	if !ValidID(id) {
		return tenancy.Restaurant{}, apperr.Errorf(apperr.NotFound, "restaurant not found")
	}
	q := `SELECT ` + restaurantColumns + ` FROM restaurants WHERE id = $1` + db.lock()
	r, err := scanRestaurant(tx.QueryRowContext(ctx, q, id))
	return r, notFound(err, "restaurant")
}

// changedOne turns an UPDATE that matched no row into "not found": a write
// that changed nothing must never be reported as done.
func changedOne(res sql.Result, what string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("store: %s: %w", what, err)
	}
	if n == 0 {
		return apperr.Errorf(apperr.NotFound, "%s not found", what)
	}
	return nil
}

// CreateRestaurant creates a tenant. Platform-level: the caller checks that
// only a super_admin gets here.
func (db *DB) CreateRestaurant(ctx context.Context, name, prefix string) (tenancy.Restaurant, error) {
	now := db.Now()
	r := tenancy.Restaurant{ID: NewID(), Name: name, Prefix: prefix, Status: tenancy.Active, Currency: "USD", CreatedAt: now, UpdatedAt: now}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO restaurants (id, name, prefix, status, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6)`,
			r.ID, r.Name, r.Prefix, r.Status, now, now); err != nil {
			return fmt.Errorf("store: create restaurant: %w", err)
		}
		return db.audit(tenancy.WithTenant(ctx, r.ID), tx, "create", "restaurant", r.ID, nil, r)
	})
	return r, err
}

// Restaurant returns one restaurant by id.
func (db *DB) Restaurant(ctx context.Context, id string) (tenancy.Restaurant, error) {
	if !ValidID(id) {
		return tenancy.Restaurant{}, apperr.Errorf(apperr.NotFound, "restaurant not found")
	}
	r, err := scanRestaurant(db.sql.QueryRowContext(ctx,
		`SELECT `+restaurantColumns+` FROM restaurants WHERE id = $1`, id))
	return r, notFound(err, "restaurant")
}

// Restaurants lists every restaurant, oldest first.
func (db *DB) Restaurants(ctx context.Context) ([]tenancy.Restaurant, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT `+restaurantColumns+` FROM restaurants ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("store: list restaurants: %w", err)
	}
	defer rows.Close()
	var out []tenancy.Restaurant
	for rows.Next() {
		r, err := scanRestaurant(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list restaurants: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// RestaurantPatch holds the fields an update may change; nil means keep.
type RestaurantPatch struct {
	Name     *string
	Prefix   *string
	Currency *string // a code money.ParseCurrency accepted
}

// UpdateRestaurant changes the tenant in ctx.
func (db *DB) UpdateRestaurant(ctx context.Context, p RestaurantPatch) (tenancy.Restaurant, error) {
	id, err := tenant(ctx)
	if err != nil {
		return tenancy.Restaurant{}, err
	}
	var after tenancy.Restaurant
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		before, err := db.lockRestaurant(ctx, tx, id)
		if err != nil {
			return err
		}
		after = before
		if p.Name != nil {
			after.Name = *p.Name
		}
		if p.Prefix != nil {
			after.Prefix = *p.Prefix
		}
		if p.Currency != nil {
			after.Currency = *p.Currency
		}
		after.UpdatedAt = db.Now()
		res, err := tx.ExecContext(ctx, `UPDATE restaurants SET name = $1, prefix = $2, currency = $3, updated_at = $4 WHERE id = $5`,
			after.Name, after.Prefix, after.Currency, after.UpdatedAt, id)
		if err != nil {
			return fmt.Errorf("store: update restaurant: %w", err)
		}
		if err := changedOne(res, "restaurant"); err != nil {
			return err
		}
		return db.audit(ctx, tx, "update", "restaurant", id, before, after)
	})
	return after, err
}

// SetRestaurantStatus moves the tenant in ctx to status (emergency response:
// read_only stops writes, suspended isolates it).
func (db *DB) SetRestaurantStatus(ctx context.Context, status tenancy.Status) (tenancy.Restaurant, error) {
	id, err := tenant(ctx)
	if err != nil {
		return tenancy.Restaurant{}, err
	}
	var after tenancy.Restaurant
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		// Locked first: during a restore of this tenant the change waits
		// for the restore to commit, then applies to the restored row.
		before, err := db.lockRestaurant(ctx, tx, id)
		if err != nil {
			return err
		}
		after = before
		after.Status, after.UpdatedAt = status, db.Now()
		res, err := tx.ExecContext(ctx, `UPDATE restaurants SET status = $1, updated_at = $2 WHERE id = $3`,
			status, after.UpdatedAt, id)
		if err != nil {
			return fmt.Errorf("store: set restaurant status: %w", err)
		}
		if err := changedOne(res, "restaurant"); err != nil {
			return err
		}
		// Suspending signs everyone out: every token issued so far stays
		// refused after the restaurant is reactivated.
		if status == tenancy.Suspended {
			if _, err := tx.ExecContext(ctx, `UPDATE restaurants SET tokens_valid_after = $1 WHERE id = $2`, after.UpdatedAt, id); err != nil {
				return fmt.Errorf("store: revoke tenant tokens: %w", err)
			}
		}
		if err := db.authChanged(ctx, tx, AuthChange{Kind: AuthTenant, RestaurantID: id}); err != nil {
			return err
		}
		return db.audit(ctx, tx, "set_status", "restaurant", id, before, after)
	})
	return after, err
}

// RevokeTenantTokens invalidates every token issued so far to the users of
// the tenant in ctx.
func (db *DB) RevokeTenantTokens(ctx context.Context) error {
	id, err := tenant(ctx)
	if err != nil {
		return err
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := db.lockRestaurant(ctx, tx, id); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE restaurants SET tokens_valid_after = $1 WHERE id = $2`, db.Now(), id)
		if err != nil {
			return fmt.Errorf("store: revoke tenant tokens: %w", err)
		}
		if err := changedOne(res, "restaurant"); err != nil {
			return err
		}
		if err := db.authChanged(ctx, tx, AuthChange{Kind: AuthTenant, RestaurantID: id}); err != nil {
			return err
		}
		return db.audit(ctx, tx, "revoke_tokens", "restaurant", id, nil, nil)
	})
}

// TokenState is what authentication needs to know, read in one query, about
// the holder of a token.
type TokenState struct {
	UserExists       bool
	Role             tenancy.Role
	UserValidAfter   time.Time // zero when never revoked
	TenantValidAfter time.Time
	TenantStatus     tenancy.Status
	Revoked          bool // the token itself was logged out
	// User is the user's (or operator's) row as GET /api/v1/me shows it,
	// without the password hash; read with the state, and announced as an
	// AuthUser change whenever it changes, so it can be served from memory.
	User tenancy.User
}

// TokenStateFor reads the current state behind a token of userID (in
// restaurantID, or a super_admin when restaurantID is empty).
func (db *DB) TokenStateFor(ctx context.Context, userID, restaurantID, jti string) (TokenState, error) {
	var st TokenState
	if !ValidID(userID) || !ValidID(jti) || (restaurantID != "" && !ValidID(restaurantID)) {
		return st, nil
	}
	var userAfter, tenantAfter nullTime
	var role, status sql.NullString
	var revoked bool
	var u tenancy.User
	var err error
	if restaurantID == "" {
		err = db.sql.QueryRowContext(ctx, `
			SELECT 'super_admin', s.tokens_valid_after, NULL, NULL,
			       EXISTS (SELECT 1 FROM revoked_tokens WHERE jti = $2),
			       s.email, s.name, s.created_at, s.updated_at
			FROM super_admins s WHERE s.id = $1`, userID, jti).
			Scan(&role, &userAfter, &tenantAfter, &status, &revoked, &u.Email, &u.Name, &u.CreatedAt, &u.UpdatedAt)
	} else {
		err = db.sql.QueryRowContext(ctx, `
			SELECT u.role, u.tokens_valid_after, r.tokens_valid_after, r.status,
			       EXISTS (SELECT 1 FROM revoked_tokens WHERE jti = $3),
			       u.email, u.name, u.created_at, u.updated_at
			FROM users u JOIN restaurants r ON r.id = u.restaurant_id
			WHERE u.restaurant_id = $1 AND u.id = $2`, restaurantID, userID, jti).
			Scan(&role, &userAfter, &tenantAfter, &status, &revoked, &u.Email, &u.Name, &u.CreatedAt, &u.UpdatedAt)
	}
	if err == sql.ErrNoRows {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("store: token state: %w", err)
	}
	st.UserExists = true
	st.Role = tenancy.Role(role.String)
	st.TenantStatus = tenancy.Status(status.String)
	st.Revoked = revoked
	u.ID, u.RestaurantID, u.Role = userID, restaurantID, st.Role
	u.CreatedAt, u.UpdatedAt = u.CreatedAt.UTC(), u.UpdatedAt.UTC()
	st.User = u
	if userAfter.Valid {
		st.UserValidAfter = userAfter.Time
	}
	if tenantAfter.Valid {
		st.TenantValidAfter = tenantAfter.Time
	}
	return st, nil
}

// RevokeToken records a logged-out token until it would have expired anyway,
// and forgets tokens past their expiry.
func (db *DB) RevokeToken(ctx context.Context, jti string, expiresAt time.Time) error {
	if !ValidID(jti) {
		return apperr.Errorf(apperr.Invalid, "malformed token id")
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM revoked_tokens WHERE expires_at < $1`, db.Now()); err != nil {
			return fmt.Errorf("store: prune revoked tokens: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO revoked_tokens (jti, expires_at) VALUES ($1, $2) ON CONFLICT (jti) DO NOTHING`,
			jti, expiresAt.UTC()); err != nil {
			return fmt.Errorf("store: revoke token: %w", err)
		}
		return db.authChanged(ctx, tx, AuthChange{Kind: AuthToken, ID: jti, Expires: expiresAt.UTC()})
	})
}
