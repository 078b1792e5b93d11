package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/apperr"
)

// JobRecord is the product's view of one background job.
type JobRecord struct {
	ID           string          `json:"id"`
	Kind         string          `json:"kind"`
	RestaurantID string          `json:"restaurant_id,omitempty"`
	Status       string          `json:"status"`
	Progress     int             `json:"progress"`
	Message      string          `json:"message"`
	Result       json.RawMessage `json:"result"`
	CreatedBy    string          `json:"created_by,omitempty"`
	CreatedAt    time.Time       `json:"created_at"`
	UpdatedAt    time.Time       `json:"updated_at"`
}

const jobColumns = `id, kind, restaurant_id, status, progress, message, result, created_by, created_at, updated_at`

func scanJob(row interface{ Scan(...any) error }) (JobRecord, error) {
	var j JobRecord
	var rid, result sql.NullString
	err := row.Scan(&j.ID, &j.Kind, &rid, &j.Status, &j.Progress, &j.Message, &result, &j.CreatedBy, &j.CreatedAt, &j.UpdatedAt)
	j.RestaurantID = rid.String
	if result.Valid {
		j.Result = json.RawMessage(result.String)
	}
	j.CreatedAt, j.UpdatedAt = j.CreatedAt.UTC(), j.UpdatedAt.UTC()
	return j, err
}

// RestoreJobKinds are the job kinds that replace a restaurant's rows; the
// index jobs_one_restore_per_tenant (migrations 00046, 00081) allows one of them
// queued or running per restaurant.
var RestoreJobKinds = []string{"backup.import", "backup.restore_latest", "backup.restore_point_in_time"}

// RestoreRunning refuses a restore of a restaurant while another is queued
// or running; JobID names that one (empty if it ended meanwhile).
type RestoreRunning struct {
	RestaurantID, JobID string
}

func (e *RestoreRunning) Error() string {
	if e.JobID == "" {
		return "a restore of restaurant " + e.RestaurantID + " is already running"
	}
	return "a restore of restaurant " + e.RestaurantID + " is already running as job " + e.JobID
}

// Unwrap makes the refusal a conflict for callers that look only at codes.
func (e *RestoreRunning) Unwrap() error { return apperr.Errorf(apperr.Conflict, "%s", e.Error()) }

// CreateJob records a job as queued. A job that already has a record (a
// worker got there first) keeps it. A restore of a restaurant that already
// has one queued or running is refused with *RestoreRunning.
func (db *DB) CreateJob(ctx context.Context, j JobRecord) (JobRecord, error) {
	now := db.Now()
	if j.ID == "" {
		j.ID = NewID()
	}
	j.Status, j.CreatedAt, j.UpdatedAt = "queued", now, now
	_, err := db.sql.ExecContext(ctx, `INSERT INTO jobs (`+jobColumns+`) VALUES ($1, $2, $3, $4, 0, $5, NULL, $6, $7, $8)
		ON CONFLICT (id) DO NOTHING`, j.ID, j.Kind, nullable(j.RestaurantID), j.Status, j.Message, j.CreatedBy, now, now)
	if db.isUniqueViolation(err) && slices.Contains(RestoreJobKinds, j.Kind) {
		running, _ := db.ActiveRestoreJob(ctx, j.RestaurantID)
		return j, &RestoreRunning{RestaurantID: j.RestaurantID, JobID: running.ID}
	}
	if err != nil {
		return j, fmt.Errorf("store: create job: %w", err)
	}
	return j, nil
}

// ActiveRestoreJob returns the restore of restaurantID that is queued or
// running, or a not-found error when there is none.
func (db *DB) ActiveRestoreJob(ctx context.Context, restaurantID string) (JobRecord, error) {
	if !ValidID(restaurantID) {
		return JobRecord{}, apperr.Errorf(apperr.NotFound, "job not found")
	}
	j, err := scanJob(db.sql.QueryRowContext(ctx, `SELECT `+jobColumns+` FROM jobs
		WHERE restaurant_id = $1 AND kind IN ($2, $3, $4) AND status IN ('queued', 'running')`,
		restaurantID, RestoreJobKinds[0], RestoreJobKinds[1], RestoreJobKinds[2]))
	return j, notFound(err, "job")
}

// UpdateJob records a job's state. A periodic job has no record until its
// first update, so this inserts when needed. A nil result keeps the one
// recorded.
// Errors: Invalid for a malformed job id.
func (db *DB) UpdateJob(ctx context.Context, id, kind, restaurantID, status string, progress int, message string, result json.RawMessage) error {
	if !ValidID(id) {
		return apperr.Errorf(apperr.Invalid, "malformed job id")
	}
	progress = min(max(progress, 0), 100)
	now := db.Now()
	var res any
	if result != nil {
		res = string(result)
	}
	_, err := db.sql.ExecContext(ctx, `INSERT INTO jobs (`+jobColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, '', $8, $8)
		ON CONFLICT (id) DO UPDATE SET status = excluded.status, progress = excluded.progress, message = excluded.message,
		  result = COALESCE(excluded.result, jobs.result), updated_at = excluded.updated_at`,
		id, kind, nullable(restaurantID), status, progress, message, res, now)
	if err != nil {
		return fmt.Errorf("store: update job: %w", err)
	}
	return nil
}

// SetJobTenant names the tenant a job turned out to concern (an import into
// a new restaurant learns its id while running).
func (db *DB) SetJobTenant(ctx context.Context, id, restaurantID string) error {
	_, err := db.sql.ExecContext(ctx, `UPDATE jobs SET restaurant_id = $1 WHERE id = $2`, nullable(restaurantID), id)
	if err != nil {
		return fmt.Errorf("store: set job tenant: %w", err)
	}
	return nil
}

// Job returns one job record. Platform-level: the caller decides who may see it.
// Errors: NotFound when there is no such job.
func (db *DB) Job(ctx context.Context, id string) (JobRecord, error) {
	if !ValidID(id) {
		return JobRecord{}, apperr.Errorf(apperr.NotFound, "job not found")
	}
	j, err := scanJob(db.sql.QueryRowContext(ctx, `SELECT `+jobColumns+` FROM jobs WHERE id = $1`, id))
	return j, notFound(err, "job")
}

// RecentJobs lists the newest jobs, of one tenant when restaurantID is set.
func (db *DB) RecentJobs(ctx context.Context, restaurantID string, limit int) ([]JobRecord, error) {
	q := `SELECT ` + jobColumns + ` FROM jobs ORDER BY created_at DESC, id DESC LIMIT $1`
	args := []any{limit}
	if restaurantID != "" {
		q = `SELECT ` + jobColumns + ` FROM jobs WHERE restaurant_id = $2 ORDER BY created_at DESC, id DESC LIMIT $1`
		args = append(args, restaurantID)
	}
	rows, err := db.sql.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list jobs: %w", err)
	}
	defer rows.Close()
	var out []JobRecord
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list jobs: %w", err)
		}
		out = append(out, j)
	}
	return out, rows.Err()
}

// TouchJob records that a running job's worker is alive.
func (db *DB) TouchJob(ctx context.Context, id string) error {
	_, err := db.sql.ExecContext(ctx, `UPDATE jobs SET updated_at = $1 WHERE id = $2 AND status = 'running'`, db.Now(), id)
	if err != nil {
		return fmt.Errorf("store: touch job: %w", err)
	}
	return nil
}

// RunningJobs lists the jobs recorded as running.
func (db *DB) RunningJobs(ctx context.Context) ([]JobRecord, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT `+jobColumns+` FROM jobs WHERE status = 'running' ORDER BY updated_at`)
	if err != nil {
		return nil, fmt.Errorf("store: running jobs: %w", err)
	}
	defer rows.Close()
	var out []JobRecord
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, fmt.Errorf("store: running jobs: %w", err)
		}
		out = append(out, j)
	}
	return out, rows.Err()
}

// ClaimStaleJob moves a running job not heard from since before to status
// with message. It reports false when the job was heard from meanwhile or
// another instance claimed it first, so exactly one instance acts on a dead
// job.
func (db *DB) ClaimStaleJob(ctx context.Context, id string, before time.Time, status, message string) (bool, error) {
	res, err := db.sql.ExecContext(ctx, `UPDATE jobs SET status = $1, message = $2, updated_at = $3
		WHERE id = $4 AND status = 'running' AND updated_at < $5`, status, message, db.Now(), id, before.UTC().Truncate(time.Microsecond))
	if err != nil {
		return false, fmt.Errorf("store: claim job: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// LastJobOfKind returns when the newest job of kind was recorded, and
// false when none ever was.
func (db *DB) LastJobOfKind(ctx context.Context, kind string) (time.Time, bool, error) {
	// The column itself, not MAX(): SQLite types an aggregate's result as
	// text, not as the column's time.
	var last time.Time
	err := db.sql.QueryRowContext(ctx, `SELECT created_at FROM jobs WHERE kind = $1 ORDER BY created_at DESC LIMIT 1`, kind).Scan(&last)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, wrap("last job of kind", err)
	}
	return last.UTC(), true, nil
}
