package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/shimizu-tech/ordersuite/internal/apperr"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

const userColumns = `id, restaurant_id, email, name, role, password_hash, created_at, updated_at`

func scanUser(row interface{ Scan(...any) error }) (tenancy.User, error) {
	var u tenancy.User
	err := row.Scan(&u.ID, &u.RestaurantID, &u.Email, &u.Name, &u.Role, &u.PasswordHash, &u.CreatedAt, &u.UpdatedAt)
	u.CreatedAt, u.UpdatedAt = u.CreatedAt.UTC(), u.UpdatedAt.UTC()
	return u, err
}

// NormalizeEmail is how e-mail addresses are compared and stored.
func NormalizeEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// CreateUser adds a user with an already hashed password to the tenant in ctx.
// Errors: Conflict (Field: email) when the tenant has a user with the email.
func (db *DB) CreateUser(ctx context.Context, u tenancy.User) (tenancy.User, error) {
	rid, err := tenant(ctx)
	if err != nil {
		return tenancy.User{}, err
	}
	now := db.Now()
	u.ID, u.RestaurantID, u.Email, u.CreatedAt, u.UpdatedAt = NewID(), rid, NormalizeEmail(u.Email), now, now
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO users (`+userColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			u.ID, u.RestaurantID, u.Email, u.Name, u.Role, u.PasswordHash, now, now)
		if db.isUniqueViolation(err) {
			return &apperr.Error{Code: apperr.Conflict, Message: "a user with this email already exists", Field: "email"}
		}
		if err != nil {
			return fmt.Errorf("store: create user: %w", err)
		}
		return db.audit(ctx, tx, "create", "user", u.ID, nil, u)
	})
	return u, err
}

// User returns one user of the tenant in ctx.
// Errors: NotFound when the tenant has no such user.
func (db *DB) User(ctx context.Context, id string) (tenancy.User, error) {
	return db.user(ctx, db.sql, id)
}

func (db *DB) user(ctx context.Context, q queryer, id string) (tenancy.User, error) {
	rid, err := tenant(ctx)
	if err != nil {
		return tenancy.User{}, err
	}
	if !ValidID(id) {
		return tenancy.User{}, apperr.Errorf(apperr.NotFound, "user not found")
	}
	u, err := scanUser(q.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE restaurant_id = $1 AND id = $2`, rid, id))
	return u, notFound(err, "user")
}

// Users lists the users of the tenant in ctx by e-mail, a page at a time.
func (db *DB) Users(ctx context.Context, limit, offset int) ([]tenancy.User, int, error) {
	rid, err := tenant(ctx)
	if err != nil {
		return nil, 0, err
	}
	var total int
	if err := db.sql.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE restaurant_id = $1`, rid).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("store: count users: %w", err)
	}
	rows, err := db.sql.QueryContext(ctx, `SELECT `+userColumns+` FROM users WHERE restaurant_id = $1 ORDER BY email LIMIT $2 OFFSET $3`,
		rid, limit, offset)
	if err != nil {
		return nil, 0, fmt.Errorf("store: list users: %w", err)
	}
	defer rows.Close()
	out := []tenancy.User{}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("store: list users: %w", err)
		}
		out = append(out, u)
	}
	return out, total, rows.Err()
}

// UserPatch holds the fields an update may change; nil means keep.
type UserPatch struct {
	Name         *string
	Email        *string
	Role         *tenancy.Role
	PasswordHash *string
}

// UpdateUser changes a user of the tenant in ctx. Changing the password
// revokes the user's existing tokens.
// Errors: NotFound when the tenant has no such user; Conflict (Field:
// email) when the email is taken.
func (db *DB) UpdateUser(ctx context.Context, id string, p UserPatch) (tenancy.User, error) {
	var after tenancy.User
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		before, err := db.user(ctx, tx, id)
		if err != nil {
			return err
		}
		after = before
		if p.Name != nil {
			after.Name = *p.Name
		}
		if p.Email != nil {
			after.Email = NormalizeEmail(*p.Email)
		}
		if p.Role != nil {
			after.Role = *p.Role
		}
		if p.PasswordHash != nil {
			after.PasswordHash = *p.PasswordHash
		}
		after.UpdatedAt = db.Now()
		res, err := tx.ExecContext(ctx, `UPDATE users SET name = $1, email = $2, role = $3, password_hash = $4, updated_at = $5
			WHERE restaurant_id = $6 AND id = $7`,
			after.Name, after.Email, after.Role, after.PasswordHash, after.UpdatedAt, after.RestaurantID, id)
		if db.isUniqueViolation(err) {
			return &apperr.Error{Code: apperr.Conflict, Message: "a user with this email already exists", Field: "email"}
		}
		if err != nil {
			return fmt.Errorf("store: update user: %w", err)
		}
		if err := changedOne(res, "user"); err != nil {
			return err
		}
		if p.PasswordHash != nil {
			if _, err := tx.ExecContext(ctx, `UPDATE users SET tokens_valid_after = $1 WHERE restaurant_id = $2 AND id = $3`,
				after.UpdatedAt, after.RestaurantID, id); err != nil {
				return fmt.Errorf("store: revoke user tokens: %w", err)
			}
		}
		// Every change is announced, a new name or e-mail too: the user's
		// row is served from memory with the token state (GET /api/v1/me).
		if err := db.authChanged(ctx, tx, AuthChange{Kind: AuthUser, RestaurantID: after.RestaurantID, ID: id}); err != nil {
			return err
		}
		return db.audit(ctx, tx, "update", "user", id, before, after)
	})
	return after, err
}

// DeleteUser removes a user of the tenant in ctx.
// Errors: NotFound when the tenant has no such user.
func (db *DB) DeleteUser(ctx context.Context, id string) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		before, err := db.user(ctx, tx, id)
		if err != nil {
			return err
		}
		// The user's customer and staff records outlive the account. The
		// database does not unlink them (Citus refuses ON DELETE SET NULL on
		// a key that includes restaurant_id), so this transaction does, with
		// the user's row locked so no record is linked to it meanwhile.
		if _, err := tx.ExecContext(ctx, `SELECT id FROM users WHERE restaurant_id = $1 AND id = $2`+db.lock(),
			before.RestaurantID, id); err != nil {
			return fmt.Errorf("store: lock user: %w", err)
		}
		for _, table := range []string{"customers", "staff_members"} {
			if _, err := tx.ExecContext(ctx, `UPDATE `+table+` SET user_id = NULL WHERE restaurant_id = $1 AND user_id = $2`,
				before.RestaurantID, id); err != nil {
				return fmt.Errorf("store: unlink user from %s: %w", table, err)
			}
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM users WHERE restaurant_id = $1 AND id = $2`, before.RestaurantID, id)
		if err != nil {
			return fmt.Errorf("store: delete user: %w", err)
		}
		if err := changedOne(res, "user"); err != nil {
			return err
		}
		if err := db.authChanged(ctx, tx, AuthChange{Kind: AuthUser, RestaurantID: before.RestaurantID, ID: id}); err != nil {
			return err
		}
		return db.audit(ctx, tx, "delete", "user", id, before, nil)
	})
}

// RevokeUserTokens invalidates every token issued so far to a user of the
// tenant in ctx.
// Errors: NotFound when the tenant has no such user.
func (db *DB) RevokeUserTokens(ctx context.Context, id string) error {
	rid, err := tenant(ctx)
	if err != nil {
		return err
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		// The tenant's row lock makes a revocation sent during a restore
		// wait for it and then find the restored user, rather than a row
		// the restore has deleted.
		if _, err := db.lockRestaurant(ctx, tx, rid); err != nil {
			return err
		}
		u, err := db.user(ctx, tx, id)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE users SET tokens_valid_after = $1 WHERE restaurant_id = $2 AND id = $3`,
			db.Now(), u.RestaurantID, id)
		if err != nil {
			return fmt.Errorf("store: revoke user tokens: %w", err)
		}
		if err := changedOne(res, "user"); err != nil {
			return err
		}
		if err := db.authChanged(ctx, tx, AuthChange{Kind: AuthUser, RestaurantID: u.RestaurantID, ID: id}); err != nil {
			return err
		}
		return db.audit(ctx, tx, "revoke_tokens", "user", id, nil, nil)
	})
}

// UsersByEmail finds login candidates across every tenant (login is the one
// place that must look before it knows the tenant). Suspended tenants'
// users are included so the caller can refuse them explicitly.
func (db *DB) UsersByEmail(ctx context.Context, email string) ([]tenancy.User, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT `+userColumns+` FROM users WHERE email = $1 ORDER BY restaurant_id LIMIT 50`,
		NormalizeEmail(email))
	if err != nil {
		return nil, fmt.Errorf("store: find users by email: %w", err)
	}
	defer rows.Close()
	var out []tenancy.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("store: find users by email: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// LoginCandidate is a user found by e-mail at login, with the restaurant it
// belongs to, so a login that must ask "which restaurant?" can name them.
type LoginCandidate struct {
	User             tenancy.User
	RestaurantName   string
	RestaurantStatus tenancy.Status
}

// LoginCandidatesByEmail finds the users with this e-mail across every
// tenant (login is the one place that must look before it knows the tenant),
// ordered by restaurant name. Suspended tenants' users are included so the
// caller can refuse them explicitly. The limit bounds the bcrypt work one
// request can cause.
func (db *DB) LoginCandidatesByEmail(ctx context.Context, email string) ([]LoginCandidate, error) {
	rows, err := db.sql.QueryContext(ctx, `
		SELECT u.id, u.restaurant_id, u.email, u.name, u.role, u.password_hash, u.created_at, u.updated_at, r.name, r.status
		FROM users u JOIN restaurants r ON r.id = u.restaurant_id
		WHERE u.email = $1 ORDER BY r.name, r.id LIMIT 50`, NormalizeEmail(email))
	if err != nil {
		return nil, fmt.Errorf("store: find login candidates: %w", err)
	}
	defer rows.Close()
	var out []LoginCandidate
	for rows.Next() {
		var c LoginCandidate
		u := &c.User
		if err := rows.Scan(&u.ID, &u.RestaurantID, &u.Email, &u.Name, &u.Role, &u.PasswordHash, &u.CreatedAt, &u.UpdatedAt,
			&c.RestaurantName, &c.RestaurantStatus); err != nil {
			return nil, fmt.Errorf("store: find login candidates: %w", err)
		}
		u.CreatedAt, u.UpdatedAt = u.CreatedAt.UTC(), u.UpdatedAt.UTC()
		out = append(out, c)
	}
	return out, rows.Err()
}

// SuperAdminByEmail finds a platform operator for login.
// Errors: NotFound when no operator has the email.
func (db *DB) SuperAdminByEmail(ctx context.Context, email string) (tenancy.User, error) {
	var u tenancy.User
	err := db.sql.QueryRowContext(ctx, `SELECT id, email, name, password_hash, created_at, updated_at FROM super_admins WHERE email = $1`,
		NormalizeEmail(email)).Scan(&u.ID, &u.Email, &u.Name, &u.PasswordHash, &u.CreatedAt, &u.UpdatedAt)
	u.Role = tenancy.SuperAdmin
	u.CreatedAt, u.UpdatedAt = u.CreatedAt.UTC(), u.UpdatedAt.UTC()
	return u, notFound(err, "super admin")
}

// SuperAdmin returns a platform operator by id.
// Errors: NotFound when there is no such operator.
func (db *DB) SuperAdmin(ctx context.Context, id string) (tenancy.User, error) {
	var u tenancy.User
	if !ValidID(id) {
		return u, apperr.Errorf(apperr.NotFound, "super admin not found")
	}
	err := db.sql.QueryRowContext(ctx, `SELECT id, email, name, password_hash, created_at, updated_at FROM super_admins WHERE id = $1`,
		id).Scan(&u.ID, &u.Email, &u.Name, &u.PasswordHash, &u.CreatedAt, &u.UpdatedAt)
	u.Role = tenancy.SuperAdmin
	u.CreatedAt, u.UpdatedAt = u.CreatedAt.UTC(), u.UpdatedAt.UTC()
	return u, notFound(err, "super admin")
}

// UpsertSuperAdmin creates a platform operator, or sets the password of an
// existing one with the same e-mail (create-admin is safe to re-run).
func (db *DB) UpsertSuperAdmin(ctx context.Context, email, name, passwordHash string) (tenancy.User, error) {
	now := db.Now()
	u := tenancy.User{ID: NewID(), Email: NormalizeEmail(email), Name: name, Role: tenancy.SuperAdmin, PasswordHash: passwordHash, CreatedAt: now, UpdatedAt: now}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `
			INSERT INTO super_admins (id, email, name, password_hash, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $5)
			ON CONFLICT (email) DO UPDATE SET password_hash = excluded.password_hash, name = excluded.name,
				updated_at = excluded.updated_at, tokens_valid_after = excluded.updated_at
			RETURNING id`, u.ID, u.Email, u.Name, u.PasswordHash, now).Scan(&u.ID)
		if err != nil {
			return fmt.Errorf("store: upsert super admin: %w", err)
		}
		return db.authChanged(ctx, tx, AuthChange{Kind: AuthUser, ID: u.ID})
	})
	return u, err
}

// CountSuperAdmins tells whether the platform has an operator yet.
func (db *DB) CountSuperAdmins(ctx context.Context) (int, error) {
	var n int
	err := db.sql.QueryRowContext(ctx, `SELECT COUNT(*) FROM super_admins`).Scan(&n)
	return n, err
}
