package store

import (
	"context"
	"fmt"
	"sort"
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
	if db.Engine == Postgres {
		return db.postgresSchema(ctx)
	}
	return db.sqliteSchema(ctx)
}

func (db *DB) sqliteSchema(ctx context.Context) ([]TableInfo, error) {
	names, err := db.strings(ctx, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`)
	if err != nil {
		return nil, err
	}
	var out []TableInfo
	for _, name := range names {
		t := TableInfo{Name: name, Columns: map[string]bool{}}
		rows, err := db.sql.QueryContext(ctx, `SELECT name, "notnull", pk FROM pragma_table_info($1)`, name)
		if err != nil {
			return nil, err
		}
		pk := map[int]string{}
		for rows.Next() {
			var col string
			var notNull bool
			var pkPos int
			if err := rows.Scan(&col, &notNull, &pkPos); err != nil {
				rows.Close()
				return nil, err
			}
			t.Columns[col] = notNull
			if pkPos > 0 {
				pk[pkPos] = col
			}
		}
		rows.Close()
		for i := 1; i <= len(pk); i++ {
			t.PrimaryKey = append(t.PrimaryKey, pk[i])
		}
		rows, err = db.sql.QueryContext(ctx, `SELECT id, "table", "from", "to" FROM pragma_foreign_key_list($1) ORDER BY id, seq`, name)
		if err != nil {
			return nil, err
		}
		fks := map[int]*ForeignKey{}
		var order []int
		for rows.Next() {
			var id int
			var ref, from string
			var to *string
			if err := rows.Scan(&id, &ref, &from, &to); err != nil {
				rows.Close()
				return nil, err
			}
			fk, ok := fks[id]
			if !ok {
				fk = &ForeignKey{RefTable: ref}
				fks[id] = fk
				order = append(order, id)
			}
			fk.Columns = append(fk.Columns, from)
			if to != nil {
				fk.RefColumns = append(fk.RefColumns, *to)
			}
		}
		rows.Close()
		for _, id := range order {
			t.ForeignKeys = append(t.ForeignKeys, *fks[id])
		}
		idx, err := db.strings(ctx, `SELECT name FROM pragma_index_list($1) WHERE "unique" = 1 AND origin <> 'pk'`, name)
		if err != nil {
			return nil, err
		}
		for _, ix := range idx {
			cols, err := db.strings(ctx, `SELECT name FROM pragma_index_info($1) ORDER BY seqno`, ix)
			if err != nil {
				return nil, err
			}
			t.Uniques = append(t.Uniques, cols)
		}
		out = append(out, t)
	}
	return out, nil
}

func (db *DB) postgresSchema(ctx context.Context) ([]TableInfo, error) {
	names, err := db.strings(ctx, `SELECT c.relname FROM pg_class c
		WHERE c.relkind = 'r' AND c.relnamespace = current_schema()::regnamespace ORDER BY 1`)
	if err != nil {
		return nil, err
	}
	var out []TableInfo
	for _, name := range names {
		t := TableInfo{Name: name, Columns: map[string]bool{}}
		rows, err := db.sql.QueryContext(ctx, `SELECT a.attname, a.attnotnull FROM pg_attribute a
			WHERE a.attrelid = (current_schema() || '.' || $1)::regclass AND a.attnum > 0 AND NOT a.attisdropped`, name)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var col string
			var notNull bool
			if err := rows.Scan(&col, &notNull); err != nil {
				rows.Close()
				return nil, err
			}
			t.Columns[col] = notNull
		}
		rows.Close()
		// Each constraint's columns in key order, with the referenced ones.
		rows, err = db.sql.QueryContext(ctx, `
			SELECT con.contype, COALESCE(ref.relname, ''),
			       (SELECT string_agg(a.attname, ',' ORDER BY k.ord) FROM unnest(con.conkey) WITH ORDINALITY k(att, ord)
			          JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.att),
			       COALESCE((SELECT string_agg(a.attname, ',' ORDER BY k.ord) FROM unnest(con.confkey) WITH ORDINALITY k(att, ord)
			          JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.att), '')
			FROM pg_constraint con LEFT JOIN pg_class ref ON ref.oid = con.confrelid
			WHERE con.conrelid = (current_schema() || '.' || $1)::regclass AND con.contype IN ('p', 'f', 'u')
			ORDER BY con.conname`, name)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var typ, ref, cols, refCols string
			if err := rows.Scan(&typ, &ref, &cols, &refCols); err != nil {
				rows.Close()
				return nil, err
			}
			switch typ {
			case "p":
				t.PrimaryKey = strings.Split(cols, ",")
			case "f":
				t.ForeignKeys = append(t.ForeignKeys, ForeignKey{Columns: strings.Split(cols, ","), RefTable: ref, RefColumns: strings.Split(refCols, ",")})
			case "u":
				t.Uniques = append(t.Uniques, strings.Split(cols, ","))
			}
		}
		rows.Close()
		// Unique indexes that are not constraints.
		idx, err := db.strings(ctx, `
			SELECT (SELECT string_agg(a.attname, ',' ORDER BY k.ord) FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(att, ord)
			          JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.att)
			FROM pg_index i
			WHERE i.indrelid = (current_schema() || '.' || $1)::regclass AND i.indisunique AND NOT i.indisprimary
			  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)`, name)
		if err != nil {
			return nil, err
		}
		for _, cols := range idx {
			t.Uniques = append(t.Uniques, strings.Split(cols, ","))
		}
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
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
