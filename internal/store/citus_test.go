package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/storetest"
)

// The product scales out on Citus, sharded by tenant: restaurants is
// distributed by id and every tenant table by restaurant_id, colocated with
// it (deploy/citus/distribute.sql, docs/scaling.md). Citus is not installed
// where the tests run, so these tests hold the migrated PostgreSQL schema,
// the distribution script and the SQL the store sends to the rules Citus
// enforces, and a later migration or query cannot break the scale-out path
// silently.

const distributeScript = "../../deploy/citus/distribute.sql"

// TestCitusRules holds the migrated schema and the distribution script to
// Citus's rules.
func TestCitusRules(t *testing.T) {
	t.Parallel()
	if storetest.URL() == "" {
		t.Skip("the Citus rules are read from the PostgreSQL catalog: set TEST_DATABASE_URL")
	}
	db := storetest.Open(t)
	script, err := os.ReadFile(distributeScript)
	if err != nil {
		t.Fatal(err)
	}
	problems, err := citusSchemaViolations(context.Background(), db.SQL(), store.TenantTables, string(script))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}
}

// TestCitusRulesCatchWrongSchema is the test of the test: tables that break
// each rule, made in the test's own schema, and scripts that distribute the
// wrong tables, are all reported.
func TestCitusRulesCatchWrongSchema(t *testing.T) {
	t.Parallel()
	if storetest.URL() == "" {
		t.Skip("the Citus rules are read from the PostgreSQL catalog: set TEST_DATABASE_URL")
	}
	db := storetest.Open(t)
	ctx := context.Background()
	for _, ddl := range []string{
		// A tenant-like table whose key and unique constraint lack
		// restaurant_id and whose reference to users nulls on delete.
		`CREATE TABLE courier_runs (
			restaurant_id UUID NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
			id UUID NOT NULL PRIMARY KEY,
			user_id UUID,
			code TEXT NOT NULL UNIQUE,
			FOREIGN KEY (restaurant_id, user_id) REFERENCES users (restaurant_id, id) ON DELETE SET NULL (user_id))`,
		`CREATE UNIQUE INDEX courier_runs_user ON courier_runs (user_id)`,
		// A tenant-like table referencing another by id alone.
		`CREATE TABLE courier_stops (
			restaurant_id UUID NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
			id UUID NOT NULL,
			run_id UUID NOT NULL REFERENCES courier_runs (id) ON DELETE SET DEFAULT,
			PRIMARY KEY (restaurant_id, id))`,
		// A platform table pointing into a tenant's rows.
		`CREATE TABLE courier_ledger (id UUID PRIMARY KEY, restaurant_id UUID NOT NULL, order_id UUID NOT NULL,
			FOREIGN KEY (restaurant_id, order_id) REFERENCES orders (restaurant_id, id))`,
	} {
		if _, err := db.SQL().ExecContext(ctx, ddl); err != nil {
			t.Fatal(err)
		}
	}
	script, err := os.ReadFile(distributeScript)
	if err != nil {
		t.Fatal(err)
	}
	tenant := append(slices.Clone(store.TenantTables), "courier_runs", "courier_stops")
	problems, err := citusSchemaViolations(ctx, db.SQL(), tenant, string(script))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"courier_runs: primary key (id) lacks restaurant_id",
		"courier_runs: unique (code) lacks restaurant_id",
		"courier_runs: unique (user_id) lacks restaurant_id",
		"courier_runs: foreign key (restaurant_id, user_id) → users(restaurant_id, id) uses ON DELETE SET NULL",
		"courier_stops: foreign key (run_id) → courier_runs(id) does not include restaurant_id",
		"courier_stops: foreign key (run_id) → courier_runs(id) uses ON DELETE SET DEFAULT",
		"courier_ledger: platform table references tenant table orders",
		"courier_runs: tenant table not distributed by deploy/citus/distribute.sql",
		"courier_stops: tenant table not distributed by deploy/citus/distribute.sql",
	} {
		if !slices.Contains(problems, want) {
			t.Errorf("the rules missed: %s\n(reported: %q)", want, problems)
		}
	}

	// Scripts that distribute the wrong tables, or in the wrong way.
	good := string(script)
	for _, tc := range []struct{ name, script, want string }{
		{"platform table distributed",
			good + "\nSELECT create_distributed_table('jobs', 'restaurant_id', colocate_with => 'restaurants');\n",
			"jobs: distributed by deploy/citus/distribute.sql but not a tenant table"},
		{"tenant table missing",
			strings.Replace(good, "create_distributed_table('feedback'", "create_reference_table('feedback'", 1),
			"feedback: tenant table not distributed by deploy/citus/distribute.sql"},
		{"wrong column",
			strings.Replace(good, "create_distributed_table('orders', 'restaurant_id'", "create_distributed_table('orders', 'id'", 1),
			"orders: distributed by id, want restaurant_id colocated with restaurants"},
		{"dependency order",
			moveBefore(good, "create_distributed_table('order_items'", "create_distributed_table('orders'"),
			"order_items: distributed before orders, which it references"},
		{"tenants last",
			moveBefore(good, "create_distributed_table('users'", "create_distributed_table('restaurants'"),
			"users: distributed before restaurants, which it references"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			problems, err := citusSchemaViolations(ctx, db.SQL(), store.TenantTables, tc.script)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Contains(problems, tc.want) {
				t.Errorf("the rules missed: %s\n(reported: %q)", tc.want, problems)
			}
		})
	}
}

// moveBefore moves the statement starting at what to just before the one
// starting at before.
func moveBefore(script, what, before string) string {
	i := strings.Index(script, "SELECT "+what)
	j := strings.Index(script[i:], ";\n") + i + 2
	stmt := script[i:j]
	script = script[:i] + script[j:]
	k := strings.Index(script, "SELECT "+before)
	return script[:k] + stmt + script[k:]
}

// citusFK is one foreign key as the catalog states it.
type citusFK struct {
	table, refTable    string
	cols, refCols      []string
	onDelete, onUpdate string
}

func (fk citusFK) String() string {
	return fmt.Sprintf("(%s) → %s(%s)", strings.Join(fk.cols, ", "), fk.refTable, strings.Join(fk.refCols, ", "))
}

// citusSchemaViolations lists every way the schema in q's current schema
// and the distribution script break Citus's rules, given the tenant tables.
func citusSchemaViolations(ctx context.Context, q *sql.DB, tenant []string, script string) ([]string, error) {
	var out []string
	isTenant := func(t string) bool { return slices.Contains(tenant, t) }

	// Primary keys, unique constraints and unique indexes (partial ones
	// too: Citus enforces uniqueness per shard only).
	rows, err := q.QueryContext(ctx, `
		SELECT c.relname, i.indisprimary,
		       array_to_string(ARRAY(SELECT a.attname FROM unnest(i.indkey) WITH ORDINALITY k(att, n)
		                             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.att ORDER BY k.n), ',')
		FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
		WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p') AND i.indisunique
		ORDER BY 1, 3`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var table, cols string
		var primary bool
		if err := rows.Scan(&table, &primary, &cols); err != nil {
			rows.Close()
			return nil, err
		}
		if !isTenant(table) || slices.Contains(strings.Split(cols, ","), "restaurant_id") {
			continue
		}
		what := "unique"
		if primary {
			what = "primary key"
		}
		out = append(out, fmt.Sprintf("%s: %s (%s) lacks restaurant_id", table, what, strings.ReplaceAll(cols, ",", ", ")))
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}

	// Foreign keys.
	rows, err = q.QueryContext(ctx, `
		SELECT src.relname, ref.relname, con.confdeltype::text, con.confupdtype::text,
		       array_to_string(ARRAY(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY k(att, n)
		                             JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.att ORDER BY k.n), ','),
		       array_to_string(ARRAY(SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY k(att, n)
		                             JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.att ORDER BY k.n), ',')
		FROM pg_constraint con
		JOIN pg_class src ON src.oid = con.conrelid
		JOIN pg_class ref ON ref.oid = con.confrelid
		WHERE con.contype = 'f' AND con.connamespace = current_schema()::regnamespace
		ORDER BY 1, 5`)
	if err != nil {
		return nil, err
	}
	var fks []citusFK
	for rows.Next() {
		var fk citusFK
		var cols, refCols string
		if err := rows.Scan(&fk.table, &fk.refTable, &fk.onDelete, &fk.onUpdate, &cols, &refCols); err != nil {
			rows.Close()
			return nil, err
		}
		fk.cols, fk.refCols = strings.Split(cols, ","), strings.Split(refCols, ",")
		fks = append(fks, fk)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// Citus distributes restaurants by id; the tenant tables reference it.
	distributed := func(t string) bool { return t == "restaurants" || isTenant(t) }
	for _, fk := range fks {
		switch {
		case !distributed(fk.table) && distributed(fk.refTable):
			// Citus has no foreign key from a coordinator table to a
			// distributed one.
			if fk.refTable == "restaurants" {
				out = append(out, fmt.Sprintf("%s: platform table references restaurants", fk.table))
			} else {
				out = append(out, fmt.Sprintf("%s: platform table references tenant table %s", fk.table, fk.refTable))
			}
			continue
		case !isTenant(fk.table):
			continue
		case !distributed(fk.refTable):
			out = append(out, fmt.Sprintf("%s: foreign key %s points to a table that is not distributed", fk.table, fk))
		}
		key := "restaurant_id"
		if fk.refTable == "restaurants" {
			key = "id"
		}
		if i := slices.Index(fk.cols, "restaurant_id"); i < 0 || fk.refCols[i] != key {
			out = append(out, fmt.Sprintf("%s: foreign key %s does not include restaurant_id", fk.table, fk))
		}
		for action, name := range map[string]string{"n": "SET NULL", "d": "SET DEFAULT"} {
			if fk.onDelete == action {
				out = append(out, fmt.Sprintf("%s: foreign key %s uses ON DELETE %s", fk.table, fk, name))
			}
			if fk.onUpdate == action {
				out = append(out, fmt.Sprintf("%s: foreign key %s uses ON UPDATE %s", fk.table, fk, name))
			}
		}
	}

	// The distribution script: restaurants by id, then every tenant table
	// by restaurant_id colocated with it, each after the tables it
	// references; reference tables only among the platform's.
	call := regexp.MustCompile(`(?m)^\s*SELECT\s+(create_distributed_table|create_reference_table)\(\s*'(\w+)'\s*(?:,\s*'(\w+)'\s*)?(?:,\s*colocate_with\s*=>\s*'(\w+)'\s*)?\)`)
	position := map[string]int{}
	for i, m := range call.FindAllStringSubmatch(script, -1) {
		fn, table, column, colocate := m[1], m[2], m[3], m[4]
		if fn == "create_reference_table" {
			if distributed(table) {
				out = append(out, fmt.Sprintf("%s: a reference table in deploy/citus/distribute.sql, want it distributed", table))
			}
			continue
		}
		position[table] = i
		switch {
		case table == "restaurants":
			if column != "id" || colocate != "" {
				out = append(out, fmt.Sprintf("restaurants: distributed by %s, want id", column))
			}
		case !isTenant(table):
			out = append(out, fmt.Sprintf("%s: distributed by deploy/citus/distribute.sql but not a tenant table", table))
		case column != "restaurant_id" || colocate != "restaurants":
			out = append(out, fmt.Sprintf("%s: distributed by %s, want restaurant_id colocated with restaurants", table, column))
		}
	}
	if _, ok := position["restaurants"]; !ok {
		out = append(out, "restaurants: not distributed by deploy/citus/distribute.sql")
	}
	for _, t := range tenant {
		if _, ok := position[t]; !ok {
			out = append(out, fmt.Sprintf("%s: tenant table not distributed by deploy/citus/distribute.sql", t))
		}
	}
	for _, fk := range fks {
		i, ok := position[fk.table]
		j, refOK := position[fk.refTable]
		if ok && refOK && fk.table != fk.refTable && j > i {
			out = append(out, fmt.Sprintf("%s: distributed before %s, which it references", fk.table, fk.refTable))
		}
	}
	sort.Strings(out)
	return slices.Compact(out), nil
}

// citusQueryExceptions are the functions whose statements may break the
// query rules below, each with its reason. Citus runs them correctly, on
// every shard or in two steps, only slower; that is right for these and
// only these.
var citusQueryExceptions = map[string]string{
	"analytics.go:eventStats":          "without a tenant it is the platform analytics over every tenant (all_tenants, tenant_comparison), for super_admin",
	"rollups.go:rollupStats":           "without a tenant it is the platform overview over every tenant's rollups, for super_admin",
	"users.go:LoginCandidatesByEmail":  "login looks a user up by e-mail before it knows the tenant",
	"flags.go:FlagsFingerprint":        "counts every tenant's flags to notice changes where notifications are missing",
	"users.go:UsersByEmail":            "login looks a user up by e-mail before it knows the tenant",
	"dump.go:TenantRows":               "reads one tenant's rows table by table, keyed by id for restaurants and restaurant_id otherwise, chosen at run time",
	"restaurants.go:TokenStateFor":     "its revoked_tokens check is an uncorrelated EXISTS, which Citus runs on the coordinator before routing the rest to the tenant's shard",
	"dialect_sqlite.go:*":              "SQLite only; nothing in it reaches Citus",
	"changeship.go:ChangedRestaurants": "the shipper finds the restaurants with new changes across every tenant, one probe of (restaurant_id, changed_at) per restaurant (restaurants and the log are colocated: a read of every shard on Citus, once a few seconds)",
	"capture_sqlite.go:*":              "SQLite only (the change log's triggers and clock); nothing in it reaches Citus",
	"orders.go:createOrderAtOnce":      "reads the restaurant's prefix by id = $1, the value every tenant table in the statement filters restaurant_id on: restaurants is distributed by id and colocated, so Citus routes the whole statement to the tenant's shard",
	"orders.go:placeOneOrder":          "as createOrderAtOnce: the menu items, customer and table it reads and the rows it writes all filter restaurant_id = $1, the restaurant's id it reads the prefix by",
	"ordergroup.go:placeOrderGroup":    "as placeOneOrder, for the orders of one restaurant placed together: every tenant table it reads or writes filters restaurant_id = $1",
}

// TestCitusQueries scans the SQL the store sends: a statement that reads or
// changes tenant rows names its tenant with a restaurant_id equality (Citus
// routes it to one shard), locks rows only so, and resolves conflicts on
// keys that include restaurant_id.
func TestCitusQueries(t *testing.T) {
	t.Parallel()
	fset := token.NewFileSet()
	names, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var files []*ast.File
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	problems, used := citusQueryViolations(fset, files, store.TenantTables, citusQueryExceptions)
	for _, p := range problems {
		t.Error(p)
	}
	for key := range citusQueryExceptions {
		if !used[key] {
			t.Errorf("listed exception %s no longer sends a statement that needs it: remove it", key)
		}
	}
}

// TestCitusQueryRulesCatchWrongSQL is the test of the test for the scan.
func TestCitusQueryRulesCatchWrongSQL(t *testing.T) {
	t.Parallel()
	src := `package store
func (db *DB) wrong(rid, id string) {
	db.sql.QueryRowContext(ctx, ` + "`SELECT name FROM orders WHERE id = $1`" + `, id)
	db.sql.QueryRowContext(ctx, ` + "`SELECT name FROM orders WHERE restaurant_id IN ($1, $2)`" + `, rid, id)
	tx.ExecContext(ctx, ` + "`SELECT value FROM number_counters WHERE kind = $1 FOR UPDATE`" + `, id)
	tx.ExecContext(ctx, ` + "`SELECT id FROM `+e.table+` WHERE id = $1`" + `+db.lock(), id)
	tx.ExecContext(ctx, ` + "`INSERT INTO feature_flags (restaurant_id, key) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING`" + `, rid, id)
	tx.ExecContext(ctx, ` + "`UPDATE customers SET notes = '' WHERE email = $1`" + `, id)
	q := ` + "`DELETE FROM order_items`" + `
	q += ` + "` WHERE order_id = $1`" + `
	tx.ExecContext(ctx, q, id)
	tx.ExecContext(ctx, ` + "`SELECT id FROM orders WHERE restaurant_id = $1 AND id = $2 FOR UPDATE`" + `, rid, id)
	tx.ExecContext(ctx, ` + "`INSERT INTO jobs (id) VALUES ($1) ON CONFLICT (id) DO NOTHING`" + `, id)
	tx.ExecContext(ctx, ` + "`SELECT id FROM restaurants WHERE status = $1`" + `+db.lock(), id)
	tx.ExecContext(ctx, ` + "`SELECT j.id FROM jobs j JOIN orders o ON o.restaurant_id = $1 AND o.id = j.id`" + `, rid)
}
`
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "wrong.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	problems, _ := citusQueryViolations(fset, []*ast.File{f}, store.TenantTables, nil)
	want := []string{
		"wrong.go:3 (wrong): statement on orders without a restaurant_id equality",
		"wrong.go:4 (wrong): statement on orders without a restaurant_id equality",
		"wrong.go:5 (wrong): FOR UPDATE without a restaurant_id equality",
		"wrong.go:5 (wrong): statement on number_counters without a restaurant_id equality",
		"wrong.go:6 (wrong): FOR UPDATE without a restaurant_id equality",
		"wrong.go:6 (wrong): statement on a table named at run time without a restaurant_id equality",
		"wrong.go:7 (wrong): ON CONFLICT (key) does not include restaurant_id",
		"wrong.go:8 (wrong): statement on customers without a restaurant_id equality",
		"wrong.go:9 (wrong): statement on order_items without a restaurant_id equality",
		"wrong.go:14 (wrong): FOR UPDATE on restaurants without an id equality",
		"wrong.go:15 (wrong): statement joins coordinator table jobs with distributed tables",
	}
	if !slices.Equal(problems, want) {
		t.Errorf("the scan reported\n  %s\nwant\n  %s", strings.Join(problems, "\n  "), strings.Join(want, "\n  "))
	}
}

var (
	sqlStatement = regexp.MustCompile(`(?is)^\s*(SELECT|INSERT|UPDATE|DELETE|WITH)\s`)
	sqlTables    = regexp.MustCompile(`(?i)\b(FROM|JOIN|UPDATE|INTO)\s+(?:ONLY\s+)?(\w+|\x00)`)
	sqlTenantEq  = regexp.MustCompile(`(?i)\brestaurant_id\s*=\s*(\$\d+|\?|\x00)`)
	sqlIDEq      = regexp.MustCompile(`(?i)(^|[^.\w])id\s*=\s*(\$\d+|\?|\x00)`)
	sqlForUpdate = regexp.MustCompile(`(?i)\bFOR\s+(UPDATE|NO\s+KEY\s+UPDATE|SHARE)\b`)
	sqlConflict  = regexp.MustCompile(`(?i)\bON\s+CONFLICT\s*\(([^)]*)\)`)
	sqlInsert    = regexp.MustCompile(`(?i)^\s*INSERT\s+INTO\s+(\w+|\x00)`)
)

// citusQueryViolations finds the SQL text in files (string literals and
// their concatenations; a variable's += pieces join its statement) and
// holds each statement on tenant tables to the rules. A part computed at
// run time reads as \x00; the dialect's lock clause as FOR UPDATE. It also
// reports which exceptions were used.
func citusQueryViolations(fset *token.FileSet, files []*ast.File, tenant []string, exceptions map[string]string) ([]string, map[string]bool) {
	var out []string
	used := map[string]bool{}
	for _, f := range files {
		file := filepath.Base(fset.Position(f.Pos()).Filename)
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok {
				continue
			}
			key := file + ":" + fn.Name.Name
			except := exceptions[key] != "" || exceptions[file+":*"] != ""
			for _, s := range sqlIn(fn) {
				problems := citusStatementViolations(s.text, tenant)
				if len(problems) == 0 {
					continue
				}
				if except {
					used[key], used[file+":*"] = exceptions[key] != "", exceptions[file+":*"] != ""
					continue
				}
				line := fset.Position(s.pos).Line
				for _, p := range problems {
					out = append(out, fmt.Sprintf("%s:%d (%s): %s", file, line, fn.Name.Name, p))
				}
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return lineOrder(out[i]) < lineOrder(out[j]) })
	return out, used
}

func lineOrder(s string) string {
	file, rest, _ := strings.Cut(s, ":")
	n, _, _ := strings.Cut(rest, " ")
	line, _ := strconv.Atoi(n)
	return fmt.Sprintf("%s:%08d:%s", file, line, s)
}

// citusStatementViolations holds one statement to the rules.
func citusStatementViolations(text string, tenant []string) []string {
	var out []string
	if m := sqlConflict.FindStringSubmatch(text); m != nil {
		ins := sqlInsert.FindStringSubmatch(text)
		platform := ins != nil && !slices.Contains(tenant, ins[1]) && ins[1] != "restaurants"
		if !platform && !strings.Contains(m[1], "restaurant_id") {
			out = append(out, fmt.Sprintf("ON CONFLICT (%s) does not include restaurant_id", m[1]))
		}
	}
	if !sqlStatement.MatchString(text) {
		return out
	}
	// The rows an INSERT … VALUES writes carry their restaurant_id; only
	// what it reads is held to the rules.
	body := text
	if m := sqlInsert.FindStringIndex(text); m != nil {
		body = text[m[1]:]
	}
	tenantEq := sqlTenantEq.MatchString(body)
	var touched, platform []string
	distributed := false
	for _, m := range sqlTables.FindAllStringSubmatch(text, -1) {
		if _, ok := store.PlatformTables[m[2]]; ok {
			platform = append(platform, m[2])
		} else if m[2] == "restaurants" || slices.Contains(tenant, m[2]) {
			distributed = true
		}
	}
	if distributed && len(platform) > 0 {
		// The platform tables stay on the coordinator; Citus would have
		// to ship one side of such a statement to the other.
		out = append(out, fmt.Sprintf("statement joins coordinator table %s with distributed tables", platform[0]))
	}
	for _, m := range sqlTables.FindAllStringSubmatch(body, -1) {
		table := m[2]
		switch {
		case table == "\x00":
			touched = append(touched, "a table named at run time")
		case slices.Contains(tenant, table):
			touched = append(touched, table)
		case table == "restaurants":
			// Distributed by id: a lock on it needs that equality.
			if sqlForUpdate.MatchString(body) && !tenantEq && !sqlIDEq.MatchString(body) {
				out = append(out, "FOR UPDATE on restaurants without an id equality")
			}
		}
	}
	if len(touched) == 0 || tenantEq {
		return out
	}
	if sqlForUpdate.MatchString(body) {
		out = append(out, "FOR UPDATE without a restaurant_id equality")
	}
	for _, t := range slices.Compact(touched) {
		out = append(out, fmt.Sprintf("statement on %s without a restaurant_id equality", t))
	}
	return out
}

type sqlText struct {
	pos  token.Pos
	text string
}

// sqlIn returns the string expressions of a function that contain SQL: each
// maximal concatenation or fmt.Sprintf of a literal format, and for a
// variable built with +=, its pieces joined in source order. A variable
// holding a string (or a []string later joined) reads as its text where it
// is used, so a WHERE clause built ahead is seen in its statement.
func sqlIn(fn *ast.FuncDecl) []sqlText {
	var out []sqlText
	r := sqlRenderer{vars: map[string]string{}}
	stmt := map[string]int{}    // variable → index in out of its statement
	done := map[ast.Node]bool{} // expressions already taken as a variable's text
	ast.Inspect(fn.Body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.AssignStmt:
			if len(n.Lhs) != len(n.Rhs) {
				return true
			}
			for k, lhs := range n.Lhs {
				id, ok := lhs.(*ast.Ident)
				if !ok {
					continue
				}
				rhs := n.Rhs[k]
				if lit, ok := rhs.(*ast.CompositeLit); ok {
					if text, ok := r.list(lit); ok {
						r.vars[id.Name] = text
					}
					continue
				}
				text, ok := r.string(rhs)
				if !ok {
					if c := r.computed(rhs); c != "\x00" && n.Tok != token.ADD_ASSIGN {
						r.vars[id.Name] = c
					}
					continue
				}
				done[rhs] = true
				if i, seen := stmt[id.Name]; seen && n.Tok == token.ADD_ASSIGN {
					out[i].text += text
					r.vars[id.Name] += text
				} else {
					stmt[id.Name] = len(out)
					out = append(out, sqlText{n.Pos(), text})
					if prev, seen := r.vars[id.Name]; seen && n.Tok == token.ASSIGN && prev != text {
						// Set differently on different paths: which
						// text a later statement gets is unknown.
						text = "\x00"
					}
					r.vars[id.Name] = text
				}
			}
		case *ast.BinaryExpr, *ast.BasicLit, *ast.CallExpr:
			if done[n] {
				return false
			}
			if text, ok := r.string(n.(ast.Expr)); ok {
				out = append(out, sqlText{n.Pos(), text})
				return false
			}
		}
		return true
	})
	return out
}

// sqlRenderer renders string expressions; vars are the texts of the
// function's string variables so far.
type sqlRenderer struct{ vars map[string]string }

var sprintfVerb = regexp.MustCompile(`%[-+# 0-9.]*[a-zA-Z%]`)

// string renders a string literal, or a concatenation or fmt.Sprintf
// holding one, with each part computed at run time as \x00 and the
// dialect's lock clause as FOR UPDATE.
func (r sqlRenderer) string(e ast.Expr) (string, bool) {
	switch e := e.(type) {
	case *ast.BasicLit:
		if e.Kind != token.STRING {
			return "", false
		}
		s, err := strconv.Unquote(e.Value)
		return s, err == nil
	case *ast.BinaryExpr:
		if e.Op != token.ADD {
			return "", false
		}
		l, lok := r.string(e.X)
		rr, rok := r.string(e.Y)
		if !lok && !rok {
			return "", false
		}
		if !lok {
			l = r.computed(e.X)
		}
		if !rok {
			rr = r.computed(e.Y)
		}
		return l + rr, true
	case *ast.ParenExpr:
		return r.string(e.X)
	case *ast.CallExpr:
		sel, ok := e.Fun.(*ast.SelectorExpr)
		if !ok || len(e.Args) == 0 {
			return "", false
		}
		if pkg, ok := sel.X.(*ast.Ident); !ok || pkg.Name != "fmt" || sel.Sel.Name != "Sprintf" {
			return "", false
		}
		format, ok := r.string(e.Args[0])
		if !ok {
			return "", false
		}
		args := e.Args[1:]
		return sprintfVerb.ReplaceAllStringFunc(format, func(verb string) string {
			if verb == "%%" {
				return "%"
			}
			if len(args) == 0 {
				return "\x00"
			}
			a := args[0]
			args = args[1:]
			if verb == "%d" {
				return "\x00"
			}
			if s, ok := r.string(a); ok {
				return s
			}
			return r.computed(a)
		}), true
	}
	return "", false
}

// list renders a []string literal of strings as its elements joined by
// AND, as the store joins its WHERE conditions.
func (r sqlRenderer) list(lit *ast.CompositeLit) (string, bool) {
	var parts []string
	for _, el := range lit.Elts {
		s, ok := r.string(el)
		if !ok {
			return "", false
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " AND "), len(parts) > 0
}

func (r sqlRenderer) computed(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.Ident:
		if s, ok := r.vars[e.Name]; ok {
			return s
		}
	case *ast.CallExpr:
		// tenantKey names a copy table's distribution column: id for
		// restaurants, restaurant_id for the rest.
		if id, ok := e.Fun.(*ast.Ident); ok && id.Name == "tenantKey" {
			return "restaurant_id"
		}
		if sel, ok := e.Fun.(*ast.SelectorExpr); ok {
			switch {
			case sel.Sel.Name == "lock" || sel.Sel.Name == "lockClause":
				return " FOR UPDATE"
			case sel.Sel.Name == "Join" && len(e.Args) == 2:
				if id, ok := e.Args[0].(*ast.Ident); ok {
					if s, ok := r.vars[id.Name]; ok {
						return s
					}
				}
			}
		}
	}
	return "\x00"
}
