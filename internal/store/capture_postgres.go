package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// The change log on PostgreSQL: one plpgsql function (pgCaptureFunction)
// and an AFTER STATEMENT trigger per captured table and operation, which
// logs the statement's rows from its transition tables. A change's
// transaction is its xid; the transaction's moment is the latest
// clock_timestamp() of its changes, taken as each statement's rows are
// logged, after they were written, so it is about its commit. If one
// transaction's change to a row follows another's, it waited for the
// other's commit: its moment is later. Restoring to T replays, in seq
// order, the transactions whose moment is at or before T, and that cut is
// closed under the order of each row's changes.

func pgTriggerSQL(table, op string) string {
	tables := `NEW TABLE AS new_rows`
	switch op {
	case "update":
		tables = `OLD TABLE AS old_rows NEW TABLE AS new_rows`
	case "delete":
		tables = `OLD TABLE AS old_rows`
	}
	return `CREATE TRIGGER ` + pgCaptureTriggers[op] + ` AFTER ` + strings.ToUpper(op) + ` ON ` + table +
		` REFERENCING ` + tables + ` FOR EACH STATEMENT EXECUTE FUNCTION ordersuite_capture('` + tenantKey(table) + `')`
}

// pgTrigger is one capture trigger found in the catalog.
type pgTrigger struct{ table, name string }

// pgCaptureState reads the capture triggers there are (enabled or not) and
// whether the function is current.
func pgCaptureState(ctx context.Context, db *DB) (triggers map[pgTrigger]bool, functionCurrent bool, err error) {
	triggers = map[pgTrigger]bool{}
	rows, err := db.sql.QueryContext(ctx, `SELECT c.relname, t.tgname, t.tgenabled <> 'D'
		FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
		WHERE t.tgname IN ($1, $2, $3, $4) AND c.relnamespace = current_schema()::regnamespace`,
		pgCaptureTriggers["insert"], pgCaptureTriggers["update"], pgCaptureTriggers["delete"], pgLegacyTrigger)
	if err != nil {
		return nil, false, fmt.Errorf("store: capture triggers: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var t pgTrigger
		var enabled bool
		if err := rows.Scan(&t.table, &t.name, &enabled); err != nil {
			return nil, false, err
		}
		triggers[t] = enabled
	}
	if err := rows.Err(); err != nil {
		return nil, false, err
	}
	var src sql.NullString
	err = db.sql.QueryRowContext(ctx, `SELECT p.prosrc FROM pg_proc p
		WHERE p.proname = 'ordersuite_capture' AND p.pronamespace = current_schema()::regnamespace`).Scan(&src)
	if err != nil && err != sql.ErrNoRows {
		return nil, false, fmt.Errorf("store: capture function: %w", err)
	}
	return triggers, src.String == pgCaptureFunction, nil
}

// pgCaptureWanted is every capture trigger the catalog asks for, → the
// operation it logs.
func pgCaptureWanted() map[pgTrigger]string {
	want := map[pgTrigger]string{}
	for _, table := range CapturedTables() {
		for _, op := range captureEvents(table) {
			want[pgTrigger{table, pgCaptureTriggers[op]}] = op
		}
	}
	return want
}

func (postgresDialect) ensureCapture(ctx context.Context, db *DB) error {
	triggers, current, err := pgCaptureState(ctx, db)
	if err != nil {
		return err
	}
	want := pgCaptureWanted()
	var stmts []string
	for t := range triggers {
		if _, ok := want[t]; !ok {
			stmts = append(stmts, `DROP TRIGGER `+t.name+` ON `+t.table)
		}
	}
	if !current {
		stmts = append(stmts, `CREATE OR REPLACE FUNCTION ordersuite_capture() RETURNS trigger LANGUAGE plpgsql AS $capture$`+pgCaptureFunction+`$capture$`)
	}
	for t, op := range want {
		if enabled, ok := triggers[t]; !ok || !enabled {
			if ok {
				stmts = append(stmts, `DROP TRIGGER `+t.name+` ON `+t.table)
			}
			stmts = append(stmts, pgTriggerSQL(t.table, op))
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
		for t := range triggers {
			if _, err := tx.ExecContext(ctx, `DROP TRIGGER `+t.name+` ON `+t.table); err != nil {
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
	if !current {
		out = append(out, "the capture function ordersuite_capture is missing or out of date")
	}
	want := pgCaptureWanted()
	for t := range want {
		enabled, ok := triggers[t]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("%s: captured table without its capture trigger %s", t.table, t.name))
		case !enabled:
			out = append(out, fmt.Sprintf("%s: capture trigger %s disabled", t.table, t.name))
		}
	}
	for t := range triggers {
		if _, ok := want[t]; ok {
			continue
		}
		if IsCaptured(t.table) {
			out = append(out, fmt.Sprintf("%s: capture trigger %s is not one the catalog asks for", t.table, t.name))
		} else {
			out = append(out, fmt.Sprintf("%s: capture trigger on a table that is not captured", t.table))
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
