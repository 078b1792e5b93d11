package store

import (
	"context"
	"fmt"
	"strings"
)

// TenantTables lists every tenant-owned table in dependency order (a table
// comes after every table it references). Backups export in this order and
// the schema test holds each to the tenancy rules.
var TenantTables = []string{
	"users",
	"menu_categories",
	"menu_items",
	"tenant_events",
	"customers",
	"staff_members",
	"tables",
	"special_events",
	"promotions",
	"number_counters",
	"orders",
	"order_items",
	"payment_methods",
	"payments",
	"reservations",
	"loyalty_programs",
	"loyalty_rewards",
	"customer_loyalty",
	"feedback",
	"notifications",
	"feature_flags",
	"flag_evaluations",
	"tenant_event_rollups",
	"tenant_daily_users",
	"tenant_route_rollups",
	"idempotency_keys",
	// The change log itself (capture.go): a tenant's rows, but neither
	// copied into archives nor captured.
	"tenant_changes",
}

// PlatformTables are the tables that belong to no single tenant, each for a
// stated reason; any table in neither list fails the schema test.
var PlatformTables = map[string]string{
	"restaurants":      "the tenants themselves",
	"super_admins":     "platform operators belong to no restaurant",
	"revoked_tokens":   "token ids are global; tokens of super_admins have no tenant",
	"audit_log":        "outlives the tenants it mentions and records platform-wide actions",
	"goose_db_version": "migration bookkeeping",
	"jobs":             "a background job may concern no tenant or several, and its record outlives the tenant it concerned",
	"api_keys":         "keys authenticate other installations to the platform, not to a tenant",
	// River's own queue tables (created by rivermigrate at the migrate step).
	"river_client":         "job queue bookkeeping",
	"river_client_queue":   "job queue bookkeeping",
	"river_job":            "job queue bookkeeping",
	"river_leader":         "job queue bookkeeping",
	"river_migration":      "job queue bookkeeping",
	"river_notification":   "job queue bookkeeping (SQLite's stand-in for LISTEN/NOTIFY)",
	"river_queue":          "job queue bookkeeping",
	"global_feature_flags": "platform-wide flag defaults set by super_admin; a tenant's own row overrides them",
	"login_failures":       "a failed login's address may belong to no tenant, or to several",
	"auth_state":           "one version for the whole installation's authentication state",
	"sdk_keys":             "credentials are never archived with a tenant; each key names the restaurant it opens",
	"login_throttles":      "a throttled account or client address may belong to no tenant, or to several",
	"change_segments":      "the shipper's record of the change log segments stored; it outlives the restaurant, whose segments restore it after deletion",
	"change_shipping":      "one cursor for the whole installation's change log shipping",
	"capture_clock":        "SQLite's change log clock: one transaction counter for the whole database",
}

// TableInfo describes one table's keys, as the database reports them.
type TableInfo struct {
	Name        string
	Columns     map[string]bool // column name → NOT NULL
	PrimaryKey  []string        // in key order
	ForeignKeys []ForeignKey
	Uniques     [][]string // unique constraints and unique indexes, primary key excluded
}

// ForeignKey is one (possibly composite) reference.
type ForeignKey struct {
	Columns    []string
	RefTable   string
	RefColumns []string
}

func (fk ForeignKey) String() string {
	return fmt.Sprintf("(%s) → %s(%s)", strings.Join(fk.Columns, ", "), fk.RefTable, strings.Join(fk.RefColumns, ", "))
}

// Schema reads every table's keys from the database catalog.
func (db *DB) Schema(ctx context.Context) ([]TableInfo, error) {
	return db.dialect.schema(ctx, db)
}

func (db *DB) strings(ctx context.Context, query string, args ...any) ([]string, error) {
	rows, err := db.sql.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}
