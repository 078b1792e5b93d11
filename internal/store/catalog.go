package store

import (
	"context"
	"fmt"
	"strings"
)

// What the database itself enforces on each copy table, read from the
// catalog of whichever engine runs, so that archive validation refuses every
// row an import would fail on and nothing has to be kept in step with the
// migrations by hand.

// CatalogColumn is one column of a copy table as the database enforces it.
type CatalogColumn struct {
	Name string
	Type ColumnType
	// UUID and JSON mark text columns that PostgreSQL parses (uuid, jsonb);
	// SQLite keeps them as TEXT, and the same rules apply there so that an
	// archive valid on one engine is valid on the other.
	UUID, JSON bool
	// IntBits is the integer width (16, 32 or 64) of a TypeInt column.
	IntBits int
	// MaxChars is the declared length of a varchar(n) column, 0 for none.
	MaxChars   int
	NotNull    bool
	HasDefault bool
	// Default is the default expression as the catalog spells it.
	Default string
}

// CatalogTable is a copy table's columns and constraints.
type CatalogTable struct {
	Name    string
	Columns []CatalogColumn
	// Checks are the CHECK constraint expressions, as the database reports
	// them (PostgreSQL's pg_get_constraintdef, SQLite's CREATE TABLE text).
	Checks []string
	// Uniques are the primary key, unique constraints and unique indexes.
	Uniques [][]string
	// Indexes are every index's columns; an empty name stands for an
	// expression.
	Indexes [][]string
}

// uuidColumn, jsonColumns and dateColumns say which SQLite TEXT columns are
// uuid, jsonb and date on PostgreSQL; TestCatalogAgreesAcrossEngines holds
// them to the PostgreSQL catalog.
func uuidColumn(table, col string) bool {
	if table == "tenant_daily_users" && col == "user_id" {
		return false // a user id or an anonymous visitor's key
	}
	return col == "id" || strings.HasSuffix(col, "_id")
}

// dateColumns are DATE on PostgreSQL and TEXT on SQLite.
var dateColumns = map[string]bool{"tenant_daily_users.day": true}

var jsonColumns = map[string]bool{
	"tenant_events.event_data":    true,
	"feature_flags.configuration": true,
	"feature_flags.variants":      true,
}

// Catalog reads every copy table's columns, CHECK constraints, unique keys
// and indexes.
func (db *DB) Catalog(ctx context.Context) (map[string]CatalogTable, error) {
	return db.dialect.catalog(ctx, db)
}

func (db *DB) postgresCatalog(ctx context.Context) (map[string]CatalogTable, error) {
	out := map[string]CatalogTable{}
	for _, t := range CopyTables() {
		out[t] = CatalogTable{Name: t}
	}
	rows, err := db.sql.QueryContext(ctx, `
		SELECT c.relname, a.attname, t.typname, a.atttypmod, a.attnotnull, a.atthasdef,
		       COALESCE(pg_get_expr(d.adbin, d.adrelid), '')
		FROM pg_attribute a
		JOIN pg_class c ON c.oid = a.attrelid
		JOIN pg_type t ON t.oid = a.atttypid
		LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
		WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r'
		  AND a.attnum > 0 AND NOT a.attisdropped
		ORDER BY c.relname, a.attnum`)
	if err != nil {
		return nil, fmt.Errorf("store: catalog columns: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var table, name, typ, def string
		var typmod int
		var c CatalogColumn
		if err := rows.Scan(&table, &name, &typ, &typmod, &c.NotNull, &c.HasDefault, &def); err != nil {
			return nil, err
		}
		t, ok := out[table]
		if !ok {
			continue
		}
		c.Name, c.Default = name, def
		c.Type = classify(typ)
		switch typ {
		case "uuid":
			c.UUID = true
		case "json", "jsonb":
			c.JSON = true
		case "int2":
			c.IntBits = 16
		case "int4":
			c.IntBits = 32
		case "int8":
			c.IntBits = 64
		case "varchar", "bpchar":
			if typmod > 4 {
				c.MaxChars = typmod - 4
			}
		}
		t.Columns = append(t.Columns, c)
		out[table] = t
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()

	rows, err = db.sql.QueryContext(ctx, `
		SELECT c.relname, pg_get_constraintdef(con.oid)
		FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid
		WHERE con.contype = 'c' AND c.relnamespace = current_schema()::regnamespace
		ORDER BY c.relname, con.conname`)
	if err != nil {
		return nil, fmt.Errorf("store: catalog checks: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var table, def string
		if err := rows.Scan(&table, &def); err != nil {
			return nil, err
		}
		if t, ok := out[table]; ok {
			def = strings.TrimSuffix(strings.TrimSpace(def), " NOT VALID")
			t.Checks = append(t.Checks, strings.TrimSpace(strings.TrimPrefix(def, "CHECK")))
			out[table] = t
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()

	// An expression's position in indkey is 0, which joins no attribute and
	// leaves an empty name.
	rows, err = db.sql.QueryContext(ctx, `
		SELECT c.relname, i.indisunique,
		       (SELECT string_agg(COALESCE(a.attname, ''), ',' ORDER BY k.ord)
		          FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(att, ord)
		          LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.att)
		FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
		WHERE c.relnamespace = current_schema()::regnamespace
		ORDER BY c.relname, i.indisprimary DESC, i.indexrelid`)
	if err != nil {
		return nil, fmt.Errorf("store: catalog indexes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var table, cols string
		var unique bool
		if err := rows.Scan(&table, &unique, &cols); err != nil {
			return nil, err
		}
		if t, ok := out[table]; ok {
			list := strings.Split(cols, ",")
			t.Indexes = append(t.Indexes, list)
			if unique {
				t.Uniques = append(t.Uniques, list)
			}
			out[table] = t
		}
	}
	return out, rows.Err()
}

func (db *DB) sqliteCatalog(ctx context.Context) (map[string]CatalogTable, error) {
	out := map[string]CatalogTable{}
	for _, table := range CopyTables() {
		t := CatalogTable{Name: table}
		rows, err := db.sql.QueryContext(ctx, `SELECT name, type, "notnull", dflt_value FROM pragma_table_info($1) ORDER BY cid`, table)
		if err != nil {
			return nil, fmt.Errorf("store: catalog columns of %s: %w", table, err)
		}
		for rows.Next() {
			var c CatalogColumn
			var typ string
			var def *string
			if err := rows.Scan(&c.Name, &typ, &c.NotNull, &def); err != nil {
				rows.Close()
				return nil, err
			}
			c.Type = classify(typ)
			if c.Type == TypeInt {
				c.IntBits = 64
			}
			if def != nil {
				c.HasDefault, c.Default = true, *def
			}
			if c.Type == TypeText {
				c.UUID = uuidColumn(table, c.Name)
				c.JSON = jsonColumns[table+"."+c.Name]
				if dateColumns[table+"."+c.Name] {
					c.Type = TypeDate
				}
			}
			t.Columns = append(t.Columns, c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		var ddl string
		if err := db.sql.QueryRowContext(ctx, `SELECT sql FROM sqlite_master WHERE type = 'table' AND name = $1`, table).Scan(&ddl); err != nil {
			return nil, fmt.Errorf("store: catalog of %s: %w", table, err)
		}
		t.Checks = CheckClauses(ddl)
		type index struct {
			name   string
			unique bool
			origin string
		}
		var idx []index
		rows, err = db.sql.QueryContext(ctx, `SELECT name, "unique", origin FROM pragma_index_list($1) ORDER BY seq DESC`, table)
		if err != nil {
			return nil, fmt.Errorf("store: catalog indexes of %s: %w", table, err)
		}
		for rows.Next() {
			var ix index
			if err := rows.Scan(&ix.name, &ix.unique, &ix.origin); err != nil {
				rows.Close()
				return nil, err
			}
			idx = append(idx, ix)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		for _, ix := range idx {
			rows, err := db.sql.QueryContext(ctx, `SELECT COALESCE(name, '') FROM pragma_index_info($1) ORDER BY seqno`, ix.name)
			if err != nil {
				return nil, fmt.Errorf("store: catalog index %s: %w", ix.name, err)
			}
			var cols []string
			for rows.Next() {
				var c string
				if err := rows.Scan(&c); err != nil {
					rows.Close()
					return nil, err
				}
				cols = append(cols, c)
			}
			rows.Close()
			t.Indexes = append(t.Indexes, cols)
			if ix.unique {
				t.Uniques = append(t.Uniques, cols)
			}
		}
		out[table] = t
	}
	return out, nil
}

// CheckClauses returns the expression of every CHECK constraint in a
// CREATE TABLE statement, parenthesised as written. Comments and quoted
// text are skipped, so a "check" inside them is not taken for one.
func CheckClauses(ddl string) []string {
	var out []string
	n := len(ddl)
	isWord := func(b byte) bool {
		return b == '_' || b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z'
	}
	// skip returns the end of the comment or quoted text starting at i, or i.
	skip := func(i int) int {
		switch {
		case strings.HasPrefix(ddl[i:], "--"):
			if j := strings.IndexByte(ddl[i:], '\n'); j >= 0 {
				return i + j + 1
			}
			return n
		case strings.HasPrefix(ddl[i:], "/*"):
			if j := strings.Index(ddl[i+2:], "*/"); j >= 0 {
				return i + 2 + j + 2
			}
			return n
		case ddl[i] == '\'' || ddl[i] == '"' || ddl[i] == '`':
			q := ddl[i]
			for j := i + 1; j < n; j++ {
				if ddl[j] == q {
					if j+1 < n && ddl[j+1] == q {
						j++
						continue
					}
					return j + 1
				}
			}
			return n
		}
		return i
	}
	for i := 0; i < n; {
		if j := skip(i); j != i {
			i = j
			continue
		}
		if !strings.EqualFold(ddl[i:min(i+5, n)], "check") || (i > 0 && isWord(ddl[i-1])) || (i+5 < n && isWord(ddl[i+5])) {
			i++
			continue
		}
		j := i + 5
		for j < n && (ddl[j] == ' ' || ddl[j] == '\t' || ddl[j] == '\n' || ddl[j] == '\r') {
			j++
		}
		if j >= n || ddl[j] != '(' {
			i = j
			continue
		}
		start, depth := j, 0
		for j < n {
			if k := skip(j); k != j {
				j = k
				continue
			}
			if ddl[j] == '(' {
				depth++
			} else if ddl[j] == ')' {
				depth--
				if depth == 0 {
					break
				}
			}
			j++
		}
		if j >= n {
			break
		}
		out = append(out, ddl[start:j+1])
		i = j + 1
	}
	return out
}
