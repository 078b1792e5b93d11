package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/apperr"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// FeatureFlag is a tenant's flag or, with Global set, a platform default.
type FeatureFlag struct {
	ID            string          `json:"id"`
	RestaurantID  string          `json:"restaurant_id,omitempty"`
	Global        bool            `json:"global"`
	Key           string          `json:"key"`
	Description   string          `json:"description"`
	Enabled       bool            `json:"enabled"`
	Percentage    *int            `json:"percentage"`
	Configuration json.RawMessage `json:"configuration"`
	Variants      []FlagVariant   `json:"variants"`
	CreatedAt     time.Time       `json:"created_at"`
	UpdatedAt     time.Time       `json:"updated_at"`
}

// FlagVariant is one arm of an A/B test with its relative weight.
type FlagVariant struct {
	Key    string `json:"key"`
	Weight int    `json:"weight"`
}

// FlagChannel is the PostgreSQL notification channel on which every flag
// change is announced, in the transaction of the change. The payload is the
// restaurant id, or "*" for a platform default (every tenant may see it).
const FlagChannel = "ordersuite_feature_flags"

// AllTenants is the change payload of a platform default.
const AllTenants = "*"

const flagColumns = `id, key, description, enabled, percentage, configuration, variants, created_at, updated_at`

func scanFlag(row interface{ Scan(...any) error }, restaurantID string) (FeatureFlag, error) {
	var f FeatureFlag
	var pct sql.NullInt64
	var conf, variants string
	if err := row.Scan(&f.ID, &f.Key, &f.Description, &f.Enabled, &pct, &conf, &variants, &f.CreatedAt, &f.UpdatedAt); err != nil {
		return f, err
	}
	if pct.Valid {
		p := int(pct.Int64)
		f.Percentage = &p
	}
	f.RestaurantID, f.Global = restaurantID, restaurantID == ""
	f.Configuration = json.RawMessage(conf)
	if err := json.Unmarshal([]byte(variants), &f.Variants); err != nil {
		return f, fmt.Errorf("store: flag %s has malformed variants: %w", f.Key, err)
	}
	if f.Variants == nil {
		f.Variants = []FlagVariant{}
	}
	f.CreatedAt, f.UpdatedAt = f.CreatedAt.UTC(), f.UpdatedAt.UTC()
	return f, nil
}

func scanFlags(rows *sql.Rows, restaurantID string) ([]FeatureFlag, error) {
	defer rows.Close()
	out := []FeatureFlag{}
	for rows.Next() {
		f, err := scanFlag(rows, restaurantID)
		if err != nil {
			return nil, fmt.Errorf("store: read flags: %w", err)
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// FeatureFlags lists the flags of the tenant in ctx by key.
func (db *DB) FeatureFlags(ctx context.Context) ([]FeatureFlag, error) {
	rid, err := tenant(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := db.sql.QueryContext(ctx, `SELECT `+flagColumns+` FROM feature_flags WHERE restaurant_id = $1 ORDER BY key`, rid)
	if err != nil {
		return nil, fmt.Errorf("store: list flags: %w", err)
	}
	return scanFlags(rows, rid)
}

// GlobalFeatureFlags lists the platform defaults by key.
func (db *DB) GlobalFeatureFlags(ctx context.Context) ([]FeatureFlag, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT `+flagColumns+` FROM global_feature_flags ORDER BY key`)
	if err != nil {
		return nil, fmt.Errorf("store: list global flags: %w", err)
	}
	return scanFlags(rows, "")
}

// FeatureFlag returns a flag by id: one of the tenant in ctx, or a platform
// default (ids are unique across both; without a tenant, only a default).
// Errors: NotFound when there is no such flag in the tenant or platform.
func (db *DB) FeatureFlag(ctx context.Context, id string) (FeatureFlag, error) {
	return db.flagByID(ctx, db.sql, id)
}

func (db *DB) flagByID(ctx context.Context, q queryer, id string) (FeatureFlag, error) {
	if !ValidID(id) {
		return FeatureFlag{}, apperr.Errorf(apperr.NotFound, "feature flag not found")
	}
	// Without a tenant (an operator acting on the platform) only the
	// defaults are in reach.
	err := sql.ErrNoRows
	var f FeatureFlag
	if rid, ok := tenancy.Tenant(ctx); ok {
		f, err = scanFlag(q.QueryRowContext(ctx, `SELECT `+flagColumns+` FROM feature_flags WHERE restaurant_id = $1 AND id = $2`, rid, id), rid)
	}
	if errors.Is(err, sql.ErrNoRows) {
		f, err = scanFlag(q.QueryRowContext(ctx, `SELECT `+flagColumns+` FROM global_feature_flags WHERE id = $1`, id), "")
	}
	return f, notFound(err, "feature flag")
}

// flagByKey finds the tenant's flag (restaurantID set) or the platform
// default (restaurantID empty) with key; found is false when there is none.
func (db *DB) flagByKey(ctx context.Context, q queryer, restaurantID, key string) (f FeatureFlag, found bool, err error) {
	if restaurantID == "" {
		f, err = scanFlag(q.QueryRowContext(ctx, `SELECT `+flagColumns+` FROM global_feature_flags WHERE key = $1`, key), "")
	} else {
		f, err = scanFlag(q.QueryRowContext(ctx, `SELECT `+flagColumns+` FROM feature_flags WHERE restaurant_id = $1 AND key = $2`, restaurantID, key), restaurantID)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return FeatureFlag{}, false, nil
	}
	if err != nil {
		return FeatureFlag{}, false, fmt.Errorf("store: read flag: %w", err)
	}
	return f, true, nil
}

// CreateFeatureFlag adds a flag to the tenant in ctx, or a platform default
// when f.Global is set. The caller has validated f.
// Errors: Conflict (Field: key) when the key is taken.
func (db *DB) CreateFeatureFlag(ctx context.Context, f FeatureFlag) (FeatureFlag, error) {
	rid := ""
	if !f.Global {
		var err error
		if rid, err = tenant(ctx); err != nil {
			return FeatureFlag{}, err
		}
	}
	now := db.Now()
	f.ID, f.RestaurantID, f.CreatedAt, f.UpdatedAt = NewID(), rid, now, now
	normalizeFlag(&f)
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if err := db.insertFlag(ctx, tx, f); err != nil {
			return err
		}
		return db.flagChanged(ctx, tx, "create", nil, &f)
	})
	return f, err
}

func normalizeFlag(f *FeatureFlag) {
	if len(f.Configuration) == 0 {
		f.Configuration = json.RawMessage(`{}`)
	}
	if f.Variants == nil {
		f.Variants = []FlagVariant{}
	}
}

func (db *DB) insertFlag(ctx context.Context, tx *sql.Tx, f FeatureFlag) error {
	variants, err := json.Marshal(f.Variants)
	if err != nil {
		return err
	}
	table, args := "global_feature_flags", []any{}
	cols, marks := flagColumns, `$1, $2, $3, $4, $5, $6, $7, $8, $9`
	if !f.Global {
		table, args = "feature_flags", []any{f.RestaurantID}
		cols, marks = "restaurant_id, "+flagColumns, `$1, $2, $3, $4, $5, $6, $7, $8, $9, $10`
	}
	args = append(args, f.ID, f.Key, f.Description, f.Enabled, percentageArg(f.Percentage),
		string(f.Configuration), string(variants), f.CreatedAt, f.UpdatedAt)
	_, err = tx.ExecContext(ctx, `INSERT INTO `+table+` (`+cols+`) VALUES (`+marks+`)`, args...)
	if db.isUniqueViolation(err) {
		return &apperr.Error{Code: apperr.Conflict, Message: "a flag with this key already exists", Field: "key"}
	}
	if err != nil {
		return fmt.Errorf("store: create flag: %w", err)
	}
	return nil
}

func percentageArg(p *int) any {
	if p == nil {
		return nil
	}
	return *p
}

// UpdateFeatureFlag applies change to the flag with id (the tenant's in ctx
// or a platform default) and saves it. change returns an error to refuse.
// Errors: NotFound when there is no such flag; whatever change returns.
func (db *DB) UpdateFeatureFlag(ctx context.Context, id string, change func(*FeatureFlag) error) (FeatureFlag, error) {
	var after FeatureFlag
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		before, err := db.flagByID(ctx, tx, id)
		if err != nil {
			return err
		}
		after, err = db.saveFlag(ctx, tx, before, change)
		return err
	})
	return after, err
}

// UpsertFeatureFlag applies change to the flag with key of the tenant in ctx
// (or the platform default when global), creating the flag if it does not
// exist: the seed's find_or_initialize_by(key).
// Errors: whatever change returns.
func (db *DB) UpsertFeatureFlag(ctx context.Context, global bool, key string, change func(*FeatureFlag) error) (FeatureFlag, error) {
	rid := ""
	if !global {
		var err error
		if rid, err = tenant(ctx); err != nil {
			return FeatureFlag{}, err
		}
	}
	var after FeatureFlag
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		before, found, err := db.flagByKey(ctx, tx, rid, key)
		if err != nil {
			return err
		}
		if found {
			after, err = db.saveFlag(ctx, tx, before, change)
			return err
		}
		now := db.Now()
		after = FeatureFlag{ID: NewID(), RestaurantID: rid, Global: global, Key: key, CreatedAt: now, UpdatedAt: now}
		if err := change(&after); err != nil {
			return err
		}
		normalizeFlag(&after)
		if err := db.insertFlag(ctx, tx, after); err != nil {
			return err
		}
		return db.flagChanged(ctx, tx, "create", nil, &after)
	})
	return after, err
}

func (db *DB) saveFlag(ctx context.Context, tx *sql.Tx, before FeatureFlag, change func(*FeatureFlag) error) (FeatureFlag, error) {
	after := before
	after.Variants = append([]FlagVariant{}, before.Variants...)
	if err := change(&after); err != nil {
		return FeatureFlag{}, err
	}
	// Identity is not the change's to alter.
	after.ID, after.RestaurantID, after.Global, after.Key, after.CreatedAt = before.ID, before.RestaurantID, before.Global, before.Key, before.CreatedAt
	after.UpdatedAt = db.Now()
	normalizeFlag(&after)
	variants, err := json.Marshal(after.Variants)
	if err != nil {
		return FeatureFlag{}, err
	}
	args := []any{after.Description, after.Enabled, percentageArg(after.Percentage), string(after.Configuration), string(variants), after.UpdatedAt, after.ID}
	query := `UPDATE global_feature_flags SET description = $1, enabled = $2, percentage = $3, configuration = $4, variants = $5, updated_at = $6 WHERE id = $7`
	if !after.Global {
		query = `UPDATE feature_flags SET description = $1, enabled = $2, percentage = $3, configuration = $4, variants = $5, updated_at = $6
			WHERE id = $7 AND restaurant_id = $8`
		args = append(args, after.RestaurantID)
	}
	res, err := tx.ExecContext(ctx, query, args...)
	if err != nil {
		return FeatureFlag{}, fmt.Errorf("store: update flag: %w", err)
	}
	if err := changedOne(res, "flag"); err != nil {
		return FeatureFlag{}, err
	}
	return after, db.flagChanged(ctx, tx, "update", &before, &after)
}

// DeleteFeatureFlag removes the flag with id (the tenant's in ctx or a
// platform default) and returns what it was.
// Errors: NotFound when there is no such flag.
func (db *DB) DeleteFeatureFlag(ctx context.Context, id string) (FeatureFlag, error) {
	var before FeatureFlag
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		if before, err = db.flagByID(ctx, tx, id); err != nil {
			return err
		}
		if before.Global {
			_, err = tx.ExecContext(ctx, `DELETE FROM global_feature_flags WHERE id = $1`, id)
		} else {
			_, err = tx.ExecContext(ctx, `DELETE FROM feature_flags WHERE restaurant_id = $1 AND id = $2`, before.RestaurantID, id)
		}
		if err != nil {
			return fmt.Errorf("store: delete flag: %w", err)
		}
		return db.flagChanged(ctx, tx, "delete", &before, nil)
	})
	return before, err
}

// flagChanged audits a change and, on PostgreSQL, announces it to every
// instance when (and only when) the transaction commits.
func (db *DB) flagChanged(ctx context.Context, tx *sql.Tx, action string, before, after *FeatureFlag) error {
	f := after
	if f == nil {
		f = before
	}
	resource, target := "feature_flag", f.RestaurantID
	if f.Global {
		// A platform default belongs to no tenant's audit trail, whichever
		// tenant the operator was looking at.
		resource, target = "global_feature_flag", AllTenants
		ctx = tenancy.WithTenant(ctx, "")
	}
	var b, a any
	if before != nil {
		b = before
	}
	if after != nil {
		a = after
	}
	if err := db.audit(ctx, tx, action, resource, f.ID, b, a); err != nil {
		return err
	}
	if err := db.dialect.notify(ctx, tx, FlagChannel, target); err != nil {
		return fmt.Errorf("store: announce flag change: %w", err)
	}
	return nil
}

// ListenFlagChanges holds one PostgreSQL connection listening on
// FlagChannel and calls changed with each payload until ctx ends or the
// connection fails; the caller reconnects. ready is called once listening,
// with the server process id of the connection (for logs and diagnosis).
// Where notifications are not supported (SQLite) there is no other instance
// to hear from; it returns at once.
func (db *DB) ListenFlagChanges(ctx context.Context, ready func(backendPID uint32), changed func(target string)) error {
	return db.dialect.listen(ctx, db, FlagChannel, ready, changed)
}

// FlagsFingerprint summarises every flag row (counts and newest change) so
// that a poller notices changes made by another process, such as the command
// line, where there are no notifications (SQLite). Creating, changing or
// deleting a flag changes it.
func (db *DB) FlagsFingerprint(ctx context.Context) (string, error) {
	var n, g int64
	var last, lastGlobal any
	err := db.sql.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM feature_flags), (SELECT MAX(updated_at) FROM feature_flags),
		(SELECT COUNT(*) FROM global_feature_flags), (SELECT MAX(updated_at) FROM global_feature_flags)`).Scan(&n, &last, &g, &lastGlobal)
	if err != nil {
		return "", fmt.Errorf("store: flags fingerprint: %w", err)
	}
	return fmt.Sprintf("%d|%v|%d|%v", n, last, g, lastGlobal), nil
}

// FlagEvaluationCount is how often a tenant's flag answered true and false.
type FlagEvaluationCount struct {
	RestaurantID string
	Key          string
	True, False  int64
}

// AddFlagEvaluations adds counts to today's (UTC, store clock) rows. It is
// platform-level bookkeeping: each count names its tenant. Counts of tenants
// deleted meanwhile are dropped.
func (db *DB) AddFlagEvaluations(ctx context.Context, counts []FlagEvaluationCount) error {
	if len(counts) == 0 {
		return nil
	}
	now := db.Now()
	day := now.Format(time.DateOnly)
	return db.inTx(ctx, func(tx *sql.Tx) error {
		exists := map[string]bool{}
		for _, c := range counts {
			ok, seen := exists[c.RestaurantID]
			if !seen {
				var n int
				if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM restaurants WHERE id = $1`, c.RestaurantID).Scan(&n); err != nil {
					return fmt.Errorf("store: record flag evaluations: %w", err)
				}
				ok = n > 0
				exists[c.RestaurantID] = ok
			}
			if !ok {
				continue
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO flag_evaluations (restaurant_id, id, flag_key, day, true_count, false_count, last_evaluated_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7)
				ON CONFLICT (restaurant_id, flag_key, day) DO UPDATE SET
					true_count = flag_evaluations.true_count + excluded.true_count,
					false_count = flag_evaluations.false_count + excluded.false_count,
					last_evaluated_at = excluded.last_evaluated_at`,
				c.RestaurantID, NewID(), c.Key, day, c.True, c.False, now)
			if err != nil {
				return fmt.Errorf("store: record flag evaluations: %w", err)
			}
		}
		return nil
	})
}

// FlagUsage sums a tenant's evaluations of one key since a day.
type FlagUsage struct {
	Key           string
	True, False   int64
	LastEvaluated time.Time // zero when never evaluated
}

// FlagUsageSince returns, per key, the tenant's evaluations from since (a
// UTC day) on, plus the last evaluation ever.
func (db *DB) FlagUsageSince(ctx context.Context, since time.Time) (map[string]FlagUsage, error) {
	rid, err := tenant(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := db.sql.QueryContext(ctx, `SELECT flag_key,
			CAST(SUM(CASE WHEN day >= $2 THEN true_count ELSE 0 END) AS BIGINT),
			CAST(SUM(CASE WHEN day >= $2 THEN false_count ELSE 0 END) AS BIGINT),
			MAX(last_evaluated_at)
		FROM flag_evaluations WHERE restaurant_id = $1 GROUP BY flag_key`, rid, since.UTC().Format(time.DateOnly))
	if err != nil {
		return nil, fmt.Errorf("store: read flag usage: %w", err)
	}
	defer rows.Close()
	out := map[string]FlagUsage{}
	for rows.Next() {
		var u FlagUsage
		var last any
		if err := rows.Scan(&u.Key, &u.True, &u.False, &last); err != nil {
			return nil, fmt.Errorf("store: read flag usage: %w", err)
		}
		u.LastEvaluated, err = aggregateTime(last)
		if err != nil {
			return nil, err
		}
		out[u.Key] = u
	}
	return out, rows.Err()
}

// aggregateTime reads MAX() of a timestamp column: SQLite hands back the
// stored text, PostgreSQL a time.
func aggregateTime(v any) (time.Time, error) {
	switch x := v.(type) {
	case time.Time:
		return x.UTC(), nil
	case string:
		return parseSQLiteTime(x)
	case []byte:
		return parseSQLiteTime(string(x))
	case nil:
		return time.Time{}, nil
	}
	return time.Time{}, fmt.Errorf("store: unexpected timestamp %T", v)
}

func parseSQLiteTime(s string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02 15:04:05.999999999-07:00", time.RFC3339Nano, "2006-01-02 15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("store: unreadable timestamp %q", s)
}
