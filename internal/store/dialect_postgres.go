package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/puddle/v2"
	"github.com/pressly/goose/v3"
)

// postgresDialect is the production engine, shared by several instances.
// A Citus dialect would embed it and override what distribution changes.
type postgresDialect struct{}

// openPostgres connects a pool to databaseURL.
func openPostgres(ctx context.Context, databaseURL string, opt Options) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("store: parse database url: %w", redactURLError(err))
	}
	if opt.PGSearchPath != "" {
		cfg.ConnConfig.RuntimeParams["search_path"] = opt.PGSearchPath
	}
	dial := cfg.ConnConfig.DialFunc
	cfg.ConnConfig.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return lossReportingConn{c}, nil
	}
	if opt.PGConfigure != nil {
		opt.PGConfigure(cfg)
	}
	if opt.CountStatements != nil {
		cfg.ConnConfig.Tracer = countingTracer{opt.CountStatements}
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: connect to postgres: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("store: connect to postgres: %w", err)
	}
	return pool, nil
}

func (postgresDialect) engine() Engine { return Postgres }

func (postgresDialect) migrations() (goose.Dialect, string) {
	return goose.DialectPostgres, "migrations/postgres"
}

func (postgresDialect) lockClause() string { return " FOR UPDATE" }

func (postgresDialect) placeholder(n int) string { return fmt.Sprintf("$%d", n) }

func (postgresDialect) jsonNumber(field string) string {
	return fmt.Sprintf(`CASE WHEN jsonb_typeof(event_data->'%[1]s') = 'number' THEN (event_data->>'%[1]s')::numeric ELSE 0 END`, field)
}

func (postgresDialect) jsonText(field string) string {
	return fmt.Sprintf(`event_data->>'%s'`, field)
}

func (postgresDialect) hourUTC(column string) string {
	return `date_trunc('hour', ` + column + ` AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'`
}

func (postgresDialect) dayUTC(column string) string {
	return `to_char(` + column + ` AT TIME ZONE 'UTC', 'YYYY-MM-DD')`
}

func (postgresDialect) columnsQuery() string {
	return `SELECT column_name, data_type FROM information_schema.columns
			WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position`
}

func (postgresDialect) tableExists(ctx context.Context, q queryer, table string) (bool, error) {
	var exists bool
	err := q.QueryRowContext(ctx, `SELECT to_regclass(current_schema() || '.' || $1) IS NOT NULL`, table).Scan(&exists)
	return exists, err
}

// storageBytes shares each table's size out by the tenant's part of its
// rows, as the planner's statistics count them.
func (postgresDialect) storageBytes(ctx context.Context, db *DB, rows map[string]int64) (int64, error) {
	// One catalog query for every table; the names are the fixed
	// TenantTables list, never input.
	names := make([]string, len(TenantTables))
	for i, table := range TenantTables {
		names[i] = `to_regclass('` + table + `')`
	}
	res, err := db.sql.QueryContext(ctx, `SELECT c.relname, pg_total_relation_size(c.oid), GREATEST(c.reltuples, 0)
		FROM pg_class c WHERE c.oid IN (`+strings.Join(names, ", ")+`)`)
	if err != nil {
		return 0, err
	}
	defer res.Close()
	var estimate float64
	for res.Next() {
		var table string
		var size, tuples float64
		if err := res.Scan(&table, &size, &tuples); err != nil {
			return 0, err
		}
		n := rows[table]
		if tuples < float64(n) { // not analysed yet: the tenant's rows are a lower bound
			tuples = float64(n)
		}
		if tuples > 0 {
			estimate += size * float64(n) / tuples
		}
	}
	return int64(estimate), res.Err()
}

// beginSnapshot opens a REPEATABLE READ read-only transaction.
func (postgresDialect) beginSnapshot(ctx context.Context, db *DB) (queryer, func(), error) {
	tx, err := db.sql.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return nil, nil, err
	}
	return tx, func() { tx.Rollback() }, nil //nolint:errcheck // read-only
}

func (postgresDialect) copiesInBulk() bool { return true }

// insertEvents streams the events with COPY, then upserts the rollups in
// the same transaction. The batch commits without waiting for its WAL to
// reach the disk (synchronous_commit off, for this transaction only): the
// events are telemetry already held in memory, a crash can lose at most
// the last moments of them, and an order's commit no longer waits in the
// WAL flush queue behind them. Orders, payments and every other write keep
// the server's synchronous commit.
func (d postgresDialect) insertEvents(ctx context.Context, db *DB, events []TenantEvent, sums *rollupBatch) error {
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SET LOCAL synchronous_commit = off`); err != nil {
			return err
		}
		// The UUID columns get their bytes: given text, pgx's binary COPY
		// first fails to encode it (building an error each time) and then
		// parses it, which cost the writer more than the rest of the row.
		var rid pgtype.UUID
		ridText := ""
		row := make([]any, 5)
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"tenant_events"},
			[]string{"restaurant_id", "id", "event_type", "event_data", "created_at"},
			pgx.CopyFromSlice(len(events), func(i int) ([]any, error) {
				e := events[i]
				if e.RestaurantID != ridText || !rid.Valid {
					ridText = e.RestaurantID
					if rid.Scan(ridText) != nil {
						rid = pgtype.UUID{}
					}
				}
				row[0], row[1] = any(e.RestaurantID), any(e.ID)
				if rid.Valid {
					row[0] = rid
				}
				var id pgtype.UUID
				if id.Scan(e.ID) == nil {
					row[1] = id
				}
				row[2], row[3], row[4] = e.Type, string(e.Data), e.CreatedAt
				return row, nil
			}))
		if err != nil {
			return err
		}
		return writeRollups(ctx, d, pgxExec{tx}, sums)
	})
}

// lockRollups takes a lock that conflicts with the row locks every rollup
// upsert takes, and with itself, but not with readers.
func (postgresDialect) lockRollups(ctx context.Context, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, `LOCK TABLE tenant_event_rollups, tenant_route_rollups, tenant_daily_users IN SHARE ROW EXCLUSIVE MODE`)
	return err
}

// pgxExec lets writeRollups run inside a pgx transaction.
type pgxExec struct{ tx pgx.Tx }

func (p pgxExec) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	_, err := p.tx.Exec(ctx, q, args...)
	return nil, err
}

func (postgresDialect) modifyingCTEs() bool { return true }

func (postgresDialect) supportsNotify() bool { return true }

func (postgresDialect) notify(ctx context.Context, tx *sql.Tx, channel, payload string) error {
	_, err := tx.ExecContext(ctx, `SELECT pg_notify($1, $2)`, channel, payload)
	return err
}

// withInstanceLock holds a session advisory lock on a connection of its
// own for as long as fn runs.
func (postgresDialect) withInstanceLock(ctx context.Context, db *DB, key int64, fn func(context.Context) error) error {
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return wrap("advisory lock", err)
	}
	defer conn.Release()
	var got bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&got); err != nil {
		return wrap("advisory lock", err)
	}
	if !got {
		return ErrLockHeld
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, key) //nolint:errcheck // the lock dies with the session anyway
	return fn(ctx)
}

// lossReportingConn marks the end of a database connection's stream as the
// typed connLostError: the driver reports a server that went away in the
// middle of a message as a bare io.ErrUnexpectedEOF, which could come from
// anything that reads, while this can only come from the database.
type lossReportingConn struct{ net.Conn }

func (c lossReportingConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if err == io.EOF {
		err = &connLostError{err}
	}
	return n, err
}

// connLostError is a database connection closed by the other side (the
// server shut down, or the network between dropped it).
type connLostError struct{ err error }

func (e *connLostError) Error() string { return "database connection lost: " + e.err.Error() }
func (e *connLostError) Unwrap() error { return e.err }

// classify reads the SQLSTATE of the server's error, or recognises a
// connection that could not be made or was lost.
func (postgresDialect) classify(err error) failure {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505":
			return failUnique
		case "23503":
			return failForeignKey
		case "23514":
			return failCheck
		case "42P01":
			return failMissingTable
		case "40001", "40P01", "55P03": // serialization failure, deadlock, lock not available
			return failBusy
		case "57P01", "57P02", "57P03", "53300": // shutdown, crash, not yet accepting, too many connections
			return failUnavailable
		}
		if strings.HasPrefix(pe.Code, "08") { // class 08: connection exception
			return failUnavailable
		}
		return failOther
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	var lost *connLostError
	switch {
	case errors.As(err, &lost), errors.Is(err, pgconn.ErrConnClosed), errors.As(err, &ce), errors.As(err, &ne), errors.Is(err, driver.ErrBadConn), errors.Is(err, sql.ErrConnDone),
		errors.Is(err, puddle.ErrClosedPool), pgconn.Timeout(err):
		return failUnavailable
	}
	return failOther
}

// foreignKeys reads every table's references in one catalog query
// (validating an archive needs only these, and the whole schema takes
// several queries per table).
func (postgresDialect) foreignKeys(ctx context.Context, db *DB) (map[string][]ForeignKey, error) {
	out := map[string][]ForeignKey{}
	rows, err := db.sql.QueryContext(ctx, `
		SELECT src.relname, ref.relname,
		       (SELECT string_agg(a.attname, ',' ORDER BY k.ord) FROM unnest(con.conkey) WITH ORDINALITY k(att, ord)
		          JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.att),
		       (SELECT string_agg(a.attname, ',' ORDER BY k.ord) FROM unnest(con.confkey) WITH ORDINALITY k(att, ord)
		          JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.att)
		FROM pg_constraint con
		JOIN pg_class src ON src.oid = con.conrelid
		JOIN pg_class ref ON ref.oid = con.confrelid
		WHERE con.contype = 'f' AND src.relnamespace = current_schema()::regnamespace
		ORDER BY src.relname, con.conname`)
	if err != nil {
		return nil, fmt.Errorf("store: foreign keys: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var table, ref, cols, refCols string
		if err := rows.Scan(&table, &ref, &cols, &refCols); err != nil {
			return nil, err
		}
		out[table] = append(out[table], ForeignKey{Columns: strings.Split(cols, ","), RefTable: ref, RefColumns: strings.Split(refCols, ",")})
	}
	return out, rows.Err()
}

func (postgresDialect) schema(ctx context.Context, db *DB) ([]TableInfo, error) {
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

// listen holds one connection listening on channel until ctx ends or the
// connection fails.
func (postgresDialect) listen(ctx context.Context, db *DB, channel string, ready func(uint32), changed func(string)) error {
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("store: listen: %w", err)
	}
	// A connection that listened is not returned to the pool: it would keep
	// receiving notifications for whoever borrows it next.
	pc := conn.Hijack()
	defer pc.Close(context.WithoutCancel(ctx))
	if _, err := pc.Exec(ctx, `LISTEN `+channel); err != nil {
		return fmt.Errorf("store: listen: %w", err)
	}
	ready(pc.PgConn().PID())
	for {
		n, err := pc.WaitForNotification(ctx)
		if err != nil {
			return fmt.Errorf("store: wait for notification: %w", err)
		}
		changed(n.Payload)
	}
}

func (postgresDialect) catalog(ctx context.Context, db *DB) (map[string]CatalogTable, error) {
	return db.postgresCatalog(ctx)
}
