package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// The change log on PostgreSQL: a plpgsql function (pgCaptureFunction,
// and pgCaptureRestaurantFunction for the restaurants table) and an AFTER
// ROW trigger per captured table. A change's transaction is
// its xid; the transaction's moment is the latest clock_timestamp() of its
// changes, taken as each row is written, so it is about its commit. If one
// transaction's change to a row follows another's, it waited for the
// other's commit: its moment is later. Restoring to T replays, in seq
// order, the transactions whose moment is at or before T, and that cut is
// closed under the order of each row's changes.

// pgCaptureFunctionOf is the trigger function of a table's capture.
func pgCaptureFunctionOf(table string) string {
	if tenantKey(table) == "id" {
		return "ordersuite_capture_restaurant"
	}
	return "ordersuite_capture"
}

// pgCaptureFunctions are the capture's trigger functions, name → body.
var pgCaptureFunctions = map[string]string{
	"ordersuite_capture":            pgCaptureFunction,
	"ordersuite_capture_restaurant": pgCaptureRestaurantFunction,
}

func pgTriggerSQL(table string) string {
	return `CREATE TRIGGER ` + pgCaptureTrigger + ` AFTER ` + strings.ToUpper(strings.Join(captureEvents(table), " OR ")) +
		` ON ` + table + ` FOR EACH ROW EXECUTE FUNCTION ` + pgCaptureFunctionOf(table) + `()`
}

// pgTriggerShape is what the catalog tells of a capture trigger: its
// events (pg_trigger.tgtype), function and argument count, as
// pgTriggerWanted gives them for the table.
func pgTriggerShape(tgtype int, function string, nargs int) string {
	return fmt.Sprintf("%d %s %d", tgtype, function, nargs)
}

// pgTriggerWanted is the shape of the capture trigger the table should
// have: a row trigger (1) after its events (insert 4, delete 8, update 16).
func pgTriggerWanted(table string) string {
	tgtype := 1
	for _, e := range captureEvents(table) {
		tgtype |= map[string]int{"insert": 4, "delete": 8, "update": 16}[e]
	}
	return pgTriggerShape(tgtype, pgCaptureFunctionOf(table), 0)
}

// pgTrigger is a capture trigger found in the catalog.
type pgTrigger struct {
	enabled bool
	shape   string
}

// pgCaptureState reads which tables have the capture trigger, its shape,
// and which trigger functions are current.
func pgCaptureState(ctx context.Context, db *DB) (triggers map[string]pgTrigger, current map[string]bool, err error) {
	triggers = map[string]pgTrigger{}
	rows, err := db.sql.QueryContext(ctx, `SELECT c.relname, t.tgenabled <> 'D', t.tgtype, p.proname, t.tgnargs
		FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_proc p ON p.oid = t.tgfoid
		WHERE t.tgname = $1 AND c.relnamespace = current_schema()::regnamespace`, pgCaptureTrigger)
	if err != nil {
		return nil, nil, fmt.Errorf("store: capture triggers: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var table, function string
		var tgtype, nargs int
		var tr pgTrigger
		if err := rows.Scan(&table, &tr.enabled, &tgtype, &function, &nargs); err != nil {
			return nil, nil, err
		}
		tr.shape = pgTriggerShape(tgtype, function, nargs)
		triggers[table] = tr
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	rows, err = db.sql.QueryContext(ctx, `SELECT p.proname, p.prosrc FROM pg_proc p
		WHERE p.proname LIKE 'ordersuite\_capture%' AND p.pronargs = 0 AND p.pronamespace = current_schema()::regnamespace`)
	if err != nil {
		return nil, nil, fmt.Errorf("store: capture functions: %w", err)
	}
	defer rows.Close()
	current = map[string]bool{}
	for rows.Next() {
		var name, src string
		if err := rows.Scan(&name, &src); err != nil {
			return nil, nil, err
		}
		current[name] = pgCaptureFunctions[name] == src
	}
	return triggers, current, rows.Err()
}

func (postgresDialect) ensureCapture(ctx context.Context, db *DB) error {
	triggers, current, err := pgCaptureState(ctx, db)
	if err != nil {
		return err
	}
	var stmts []string
	for _, name := range []string{"ordersuite_capture", "ordersuite_capture_restaurant"} {
		if !current[name] {
			stmts = append(stmts, `CREATE OR REPLACE FUNCTION `+name+`() RETURNS trigger LANGUAGE plpgsql AS $capture$`+pgCaptureFunctions[name]+`$capture$`)
		}
	}
	captured := CapturedTables()
	for _, table := range captured {
		if tr, ok := triggers[table]; !ok || !tr.enabled || tr.shape != pgTriggerWanted(table) {
			if ok {
				stmts = append(stmts, `DROP TRIGGER `+pgCaptureTrigger+` ON `+table)
			}
			stmts = append(stmts, pgTriggerSQL(table))
		}
	}
	for table := range triggers {
		if !IsCaptured(table) {
			stmts = append(stmts, `DROP TRIGGER `+pgCaptureTrigger+` ON `+table)
		}
	}
	if len(stmts) == 0 {
		return nil
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		for _, s := range stmts {
			if _, err := tx.ExecContext(ctx, s); err != nil {
				return fmt.Errorf("store: make the capture triggers: %w", err)
			}
		}
		return nil
	})
}

func (postgresDialect) dropCapture(ctx context.Context, db *DB) error {
	triggers, _, err := pgCaptureState(ctx, db)
	if err != nil {
		return err
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		for table := range triggers {
			if _, err := tx.ExecContext(ctx, `DROP TRIGGER `+pgCaptureTrigger+` ON `+table); err != nil {
				return fmt.Errorf("store: drop the capture triggers: %w", err)
			}
		}
		return nil
	})
}

func (postgresDialect) captureProblems(ctx context.Context, db *DB) ([]string, error) {
	triggers, current, err := pgCaptureState(ctx, db)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, name := range []string{"ordersuite_capture", "ordersuite_capture_restaurant"} {
		if !current[name] {
			out = append(out, fmt.Sprintf("the capture function %s is missing or out of date", name))
		}
	}
	for _, table := range CapturedTables() {
		tr, ok := triggers[table]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("%s: captured table without its capture trigger", table))
		case !tr.enabled:
			out = append(out, fmt.Sprintf("%s: capture trigger disabled", table))
		case tr.shape != pgTriggerWanted(table):
			out = append(out, fmt.Sprintf("%s: capture trigger (%s) is not the one the catalog asks for (%s)", table, tr.shape, pgTriggerWanted(table)))
		}
	}
	for table := range triggers {
		if !IsCaptured(table) {
			out = append(out, fmt.Sprintf("%s: capture trigger on a table that is not captured", table))
		}
	}
	return out, nil
}

func (postgresDialect) snapshotPosition(ctx context.Context, q queryer, _ string) (LogPosition, error) {
	p := LogPosition{Engine: Postgres}
	if err := q.QueryRowContext(ctx, `SELECT pg_current_snapshot()::text, clock_timestamp()`).Scan(&p.Snapshot, &p.At); err != nil {
		return p, fmt.Errorf("store: log position: %w", err)
	}
	p.At = p.At.UTC().Truncate(time.Microsecond)
	return p, nil
}

// changesQuery reads the changes of transactions not visible in the
// position's snapshot whose moment is at or before until.
func (postgresDialect) changesQuery(restaurantID string, from LogPosition, until time.Time) (string, []any) {
	return `SELECT id, tx, tx_at, table_name, op, row_data::text, old_data::text FROM (
			SELECT c.*, max(c.changed_at) OVER (PARTITION BY c.tx) AS tx_at
			FROM tenant_changes c
			WHERE c.restaurant_id = $1 AND ($2 = '' OR NOT pg_visible_in_snapshot(c.tx::xid8, NULLIF($2, '')::pg_snapshot))
		) s WHERE tx_at <= $3 ORDER BY id`, []any{restaurantID, from.Snapshot, until}
}

func (postgresDialect) suppressCapture(ctx context.Context, tx *sql.Tx, off bool) error {
	if !off {
		return nil // SET LOCAL ends with the transaction
	}
	_, err := tx.ExecContext(ctx, `SET LOCAL ordersuite.capture = 'off'`)
	return err
}

func (postgresDialect) logImport(ctx context.Context, tx *sql.Tx, restaurantID string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO tenant_changes (restaurant_id, tx, changed_at, table_name, op, row_data)
		VALUES ($1, pg_current_xact_id()::text, clock_timestamp(), 'restaurants', 'import', '{}')`, restaurantID)
	return err
}

func (postgresDialect) pruneQuery(restaurantID string, held LogPosition) (string, []any) {
	return `DELETE FROM tenant_changes WHERE restaurant_id = $1 AND pg_visible_in_snapshot(tx::xid8, $2::pg_snapshot)`,
		[]any{restaurantID, held.Snapshot}
}
