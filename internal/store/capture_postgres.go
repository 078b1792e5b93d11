package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// The change log on PostgreSQL: one plpgsql function (pgCaptureFunction)
// and an AFTER ROW trigger per captured table. A change's transaction is
// its xid; the transaction's moment is the latest clock_timestamp() of its
// changes, taken as each row is written, so it is about its commit. If one
// transaction's change to a row follows another's, it waited for the
// other's commit: its moment is later. Restoring to T replays, in seq
// order, the transactions whose moment is at or before T, and that cut is
// closed under the order of each row's changes.

func pgTriggerSQL(table string) string {
	key := tenantKey(table)
	return `CREATE TRIGGER ` + pgCaptureTrigger + ` AFTER ` + strings.ToUpper(strings.Join(captureEvents(table), " OR ")) +
		` ON ` + table + ` FOR EACH ROW EXECUTE FUNCTION ordersuite_capture('` + key + `')`
}

// pgCaptureState reads which tables have the capture trigger and whether
// the function is current.
func pgCaptureState(ctx context.Context, db *DB) (triggers map[string]bool, functionCurrent bool, err error) {
	triggers = map[string]bool{}
	rows, err := db.sql.QueryContext(ctx, `SELECT c.relname, t.tgenabled <> 'D'
		FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
		WHERE t.tgname = $1 AND c.relnamespace = current_schema()::regnamespace`, pgCaptureTrigger)
	if err != nil {
		return nil, false, fmt.Errorf("store: capture triggers: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var table string
		var enabled bool
		if err := rows.Scan(&table, &enabled); err != nil {
			return nil, false, err
		}
		triggers[table] = enabled
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

func (postgresDialect) ensureCapture(ctx context.Context, db *DB) error {
	triggers, current, err := pgCaptureState(ctx, db)
	if err != nil {
		return err
	}
	var stmts []string
	if !current {
		stmts = append(stmts, `CREATE OR REPLACE FUNCTION ordersuite_capture() RETURNS trigger LANGUAGE plpgsql AS $capture$`+pgCaptureFunction+`$capture$`)
	}
	captured := CapturedTables()
	for _, table := range captured {
		if enabled, ok := triggers[table]; !ok || !enabled {
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
	if !current {
		out = append(out, "the capture function ordersuite_capture is missing or out of date")
	}
	for _, table := range CapturedTables() {
		enabled, ok := triggers[table]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("%s: captured table without its capture trigger", table))
		case !enabled:
			out = append(out, fmt.Sprintf("%s: capture trigger disabled", table))
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
