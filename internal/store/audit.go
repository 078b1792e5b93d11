package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// AuditEntry is one recorded write by an admin or super_admin.
type AuditEntry struct {
	ID           string       `json:"id"`
	RestaurantID string       `json:"restaurant_id,omitempty"`
	ActorID      string       `json:"actor_id"`
	ActorRole    tenancy.Role `json:"actor_role"`
	// ActorName names an API key actor (ActorRole "api_key"); empty for people.
	ActorName    string          `json:"actor_name,omitempty"`
	Action       string          `json:"action"`
	ResourceType string          `json:"resource_type"`
	ResourceID   string          `json:"resource_id"`
	Before       json.RawMessage `json:"before"`
	After        json.RawMessage `json:"after"`
	IP           string          `json:"ip"`
	CreatedAt    time.Time       `json:"created_at"`
}

// ActorAPIKey is the actor_role of writes made with an installation API key.
const ActorAPIKey = "api_key"

// audit records a write in the same transaction as the write itself, so the
// log and the data cannot disagree. Writes by staff, customers and the system
// itself (no principal) are not audited.
func (db *DB) audit(ctx context.Context, tx *sql.Tx, action, resourceType, resourceID string, before, after any) error {
	if !audited(ctx) {
		return nil
	}
	p, _ := tenancy.PrincipalFrom(ctx)
	rid, _ := tenancy.Tenant(ctx)
	b, err := auditJSON(before)
	if err != nil {
		return err
	}
	a, err := auditJSON(after)
	if err != nil {
		return err
	}
	var restaurant any
	if rid != "" {
		restaurant = rid
	}
	// A key acts with an operator's reach, but it is not an operator: the
	// log names the key.
	role, name := string(p.Role), ""
	if p.APIKeyName != "" {
		role, name = ActorAPIKey, p.APIKeyName
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO audit_log (id, restaurant_id, actor_id, actor_role, actor_name, action, resource_type, resource_id, before_data, after_data, ip, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		NewID(), restaurant, p.UserID, role, name, action, resourceType, resourceID, b, a, p.IP, db.Now())
	if err != nil {
		return fmt.Errorf("store: write audit log: %w", err)
	}
	return nil
}

// audited tells whether the caller in ctx is one whose writes are audited.
func audited(ctx context.Context) bool {
	p, ok := tenancy.PrincipalFrom(ctx)
	return ok && (p.Role == tenancy.Admin || p.Role == tenancy.SuperAdmin)
}

func auditJSON(v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("store: encode audit data: %w", err)
	}
	return string(b), nil
}

// AuditLog lists the newest entries of the tenant in ctx.
func (db *DB) AuditLog(ctx context.Context, limit, offset int) ([]AuditEntry, error) {
	rid, err := tenant(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := db.sql.QueryContext(ctx, `SELECT id, restaurant_id, actor_id, actor_role, actor_name, action, resource_type, resource_id,
			before_data, after_data, ip, created_at
		FROM audit_log WHERE restaurant_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3`, rid, limit, offset)
	if err != nil {
		return nil, fmt.Errorf("store: read audit log: %w", err)
	}
	return scanAuditEntries(rows)
}

// PlatformAuditFilter narrows the platform's audit trail. Zero fields do
// not filter; From is inclusive, To exclusive.
type PlatformAuditFilter struct {
	ActorID string
	Action  string
	From    time.Time
	To      time.Time
	// After continues a listing after the entry of this cursor (the last
	// entry of the previous page): entries are newest first.
	AfterTime time.Time
	AfterID   string
}

// PlatformAuditLog lists platform-level changes, newest first: entries
// that belong to no restaurant (global flag defaults) and everything an
// operator or an installation API key did (restaurant status, tokens,
// backups and restores, a tenant's flags). It pages by cursor, never by
// OFFSET, so a page costs the same however deep it is.
func (db *DB) PlatformAuditLog(ctx context.Context, f PlatformAuditFilter, limit int) ([]AuditEntry, error) {
	where := []string{"(restaurant_id IS NULL OR actor_role IN ('super_admin', 'api_key'))"}
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if f.ActorID != "" {
		where = append(where, "actor_id = "+arg(f.ActorID))
	}
	if f.Action != "" {
		where = append(where, "action = "+arg(f.Action))
	}
	if !f.From.IsZero() {
		where = append(where, "created_at >= "+arg(f.From.UTC()))
	}
	if !f.To.IsZero() {
		where = append(where, "created_at < "+arg(f.To.UTC()))
	}
	if !f.AfterTime.IsZero() {
		t, id := arg(f.AfterTime.UTC()), arg(f.AfterID)
		where = append(where, "(created_at < "+t+" OR (created_at = "+t+" AND id < "+id+"))")
	}
	q := `SELECT id, restaurant_id, actor_id, actor_role, actor_name, action, resource_type, resource_id,
			before_data, after_data, ip, created_at
		FROM audit_log WHERE ` + strings.Join(where, " AND ") + ` ORDER BY created_at DESC, id DESC LIMIT ` + arg(limit)
	rows, err := db.sql.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: read platform audit log: %w", err)
	}
	return scanAuditEntries(rows)
}

// scanAuditEntries reads the rows of a query that selects id, restaurant_id,
// actor_id, actor_role, actor_name, action, resource_type, resource_id,
// before_data, after_data, ip and created_at, in that order.
func scanAuditEntries(rows *sql.Rows) ([]AuditEntry, error) {
	defer rows.Close()
	out := []AuditEntry{}
	for rows.Next() {
		var e AuditEntry
		var rest, before, after sql.NullString
		if err := rows.Scan(&e.ID, &rest, &e.ActorID, &e.ActorRole, &e.ActorName, &e.Action, &e.ResourceType, &e.ResourceID,
			&before, &after, &e.IP, &e.CreatedAt); err != nil {
			return nil, fmt.Errorf("store: read audit log: %w", err)
		}
		e.RestaurantID, e.CreatedAt = rest.String, e.CreatedAt.UTC()
		if before.Valid {
			e.Before = json.RawMessage(before.String)
		}
		if after.Valid {
			e.After = json.RawMessage(after.String)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}
