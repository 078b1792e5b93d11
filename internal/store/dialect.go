package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/shimizu-tech/ordersuite/internal/apperr"
)

// dialect is everything that differs between the engines: SQL fragments,
// catalog queries, connection settings, bulk loading, notifications,
// cross-instance locks and the reading of database errors. Shared code asks
// the dialect instead of testing which engine it runs on, so a third
// variant (Citus, a PostgreSQL whose tables are distributed by
// restaurant_id) is a type that embeds postgresDialect and overrides only
// what differs.
type dialect interface {
	engine() Engine

	// migrations names goose's dialect and the embedded migration folder.
	migrations() (goose.Dialect, string)

	// lockClause is appended to a SELECT that reads rows the transaction
	// will write back; empty where the transaction already holds the lock.
	lockClause() string
	// placeholder is the n-th (1-based) bind parameter of a generated
	// multi-row statement.
	placeholder(n int) string
	// jsonNumber extracts a numeric field of the event_data column, 0 when
	// absent or not a number.
	jsonNumber(field string) string
	// jsonText extracts a text field of the event_data column, NULL when
	// absent.
	jsonText(field string) string
	// hourUTC truncates a timestamp column to its UTC hour.
	hourUTC(column string) string
	// dayUTC formats a timestamp column as its UTC day, YYYY-MM-DD.
	dayUTC(column string) string

	// columnsQuery lists a table's columns as (name, declared type) in
	// table order; its one parameter is the table name.
	columnsQuery() string
	// schema reads every table's keys from the catalog.
	schema(ctx context.Context, db *DB) ([]TableInfo, error)
	// foreignKeys reads every table's references from the catalog.
	foreignKeys(ctx context.Context, db *DB) (map[string][]ForeignKey, error)
	// tableExists tells whether the schema has the table.
	tableExists(ctx context.Context, q queryer, table string) (bool, error)
	// catalog reads every copy table's columns, CHECK constraints, unique
	// keys and indexes (what archive validation holds rows to).
	catalog(ctx context.Context, db *DB) (map[string]CatalogTable, error)
	// storageBytes estimates the bytes of a tenant's rows, given the
	// tenant's row count per table.
	storageBytes(ctx context.Context, db *DB, rows map[string]int64) (int64, error)

	// beginSnapshot opens a read-only view of one instant and returns the
	// queryer to read it through and the function that ends it.
	beginSnapshot(ctx context.Context, db *DB) (queryer, func(), error)
	// copiesInBulk tells whether an import streams rows with COPY rather
	// than multi-row INSERTs.
	copiesInBulk() bool
	// insertEvents writes a batch of events and their rollups in one
	// transaction.
	insertEvents(ctx context.Context, db *DB, events []TenantEvent, sums *rollupBatch) error
	// lockRollups makes the rollup writers of other transactions wait until
	// tx ends, so a rebuild reads the raw log and replaces the rollups as one
	// step; a no-op where a write transaction already excludes all others.
	lockRollups(ctx context.Context, tx *sql.Tx) error

	// modifyingCTEs tells whether one statement can write several tables
	// (INSERT … RETURNING feeding further INSERTs in a WITH clause), so a
	// write that needs several statements costs one round trip.
	modifyingCTEs() bool

	// supportsNotify tells whether other instances on the same database
	// can be told of a change as it commits.
	supportsNotify() bool
	// notify announces payload on channel when tx commits; a no-op where
	// no other instance can listen.
	notify(ctx context.Context, tx *sql.Tx, channel, payload string) error
	// listen calls ready once listening on channel, then changed with each
	// payload, until ctx ends or the connection fails; where notifications
	// are not supported it returns nil at once.
	listen(ctx context.Context, db *DB, channel string, ready func(backendPID uint32), changed func(payload string)) error
	// withInstanceLock runs fn unless another instance holds the lock key
	// (ErrLockHeld).
	withInstanceLock(ctx context.Context, db *DB, key int64, fn func(context.Context) error) error

	// classify reads what kind of failure a database error is, from the
	// driver's error codes, never from its message.
	classify(err error) failure

	// ensureCapture makes the change log's triggers of every captured
	// table as the catalog asks, changing nothing already right.
	ensureCapture(ctx context.Context, db *DB) error
	// dropCapture removes every capture trigger.
	dropCapture(ctx context.Context, db *DB) error
	// captureProblems lists how the triggers differ from what the catalog
	// asks for.
	captureProblems(ctx context.Context, db *DB) ([]string, error)
	// snapshotPosition reads the log position of the snapshot q reads of
	// a restaurant.
	snapshotPosition(ctx context.Context, q queryer, restaurantID string) (LogPosition, error)
	// changesQuery selects a restaurant's changes after from, of the
	// transactions whose moment is at or before until, in seq order, as
	// (seq, tx, moment, table, op, row JSON, old JSON).
	changesQuery(restaurantID string, from LogPosition, until time.Time) (string, []any)
	// suppressCapture turns the capture off (or back on) for tx's own
	// writes: an import's and a replay's rows are not logged.
	suppressCapture(ctx context.Context, tx *sql.Tx, off bool) error
	// logImport records in the log that the restaurant was imported or
	// restored in tx.
	logImport(ctx context.Context, tx *sql.Tx, restaurantID string) error
	// pruneQuery deletes a restaurant's changes an archive at held holds.
	pruneQuery(restaurantID string, held LogPosition) (string, []any)
}

// failure is a kind of database error the product acts on.
type failure int

const (
	failOther        failure = iota
	failUnique               // a unique or primary key constraint refused the row
	failForeignKey           // a foreign key refused the row or its deletion
	failCheck                // a CHECK constraint refused a value
	failMissingTable         // the statement names a table the schema lacks
	failBusy                 // a lock or serialization conflict; the statement may succeed if retried
	failUnavailable          // the database cannot be reached or is shutting down
)

func (db *DB) failure(err error) failure {
	if err == nil {
		return failOther
	}
	return db.dialect.classify(err)
}

// dbError maps a database error to the caller-facing code it stands for:
// a unique or foreign key violation is Conflict, a CHECK violation Invalid.
// A lock conflict or an unreachable database is marked so that
// IsUnavailable and Unavailable recognise it (the HTTP layer answers it
// 503, not 500). what names the rows in the message. Other errors come
// back wrapped as internal.
func (db *DB) dbError(err error, action, what string) error {
	switch db.failure(err) {
	case failUnique:
		return apperr.Errorf(apperr.Conflict, "a %s with these values already exists", what)
	case failForeignKey:
		return apperr.Errorf(apperr.Conflict, "the %s is referenced by other records", what)
	case failCheck:
		return apperr.Errorf(apperr.Invalid, "the %s has a value out of range", what)
	case failBusy, failUnavailable:
		return fmt.Errorf("store: %s %s: %w", action, what, &unavailableError{err})
	}
	if err == nil {
		return nil
	}
	return fmt.Errorf("store: %s %s: %w", action, what, err)
}

// unavailableError marks a database error that a retry may cure.
type unavailableError struct{ err error }

func (e *unavailableError) Error() string { return e.err.Error() }
func (e *unavailableError) Unwrap() error { return e.err }

// IsUnavailable reports whether err comes from a database that was busy or
// could not be reached, so the operation may succeed if retried.
func (db *DB) IsUnavailable(err error) bool {
	if err == nil {
		return false
	}
	var u *unavailableError
	if errors.As(err, &u) {
		return true
	}
	f := db.failure(err)
	return f == failBusy || f == failUnavailable
}

// Unavailable reports whether err means that the database is not there or
// not accepting work — unreachable, shutting down, out of connections, not
// answering before the deadline, or locked beyond the busy timeout — on
// either engine, so the same request may succeed later. The error types of
// the two drivers are distinct, so code that does not hold the DB (the
// HTTP layer's error answer) can ask without knowing the engine.
func Unavailable(err error) bool {
	if err == nil {
		return false
	}
	var u *unavailableError
	if errors.As(err, &u) {
		return true
	}
	for _, d := range []dialect{postgresDialect{}, sqliteDialect{}} {
		if f := d.classify(err); f == failBusy || f == failUnavailable {
			return true
		}
	}
	return false
}

// SupportsNotify tells whether a change committed by one instance reaches
// every other instance on the same database as it happens (LISTEN/NOTIFY).
// Where it does not, other processes must poll.
func (db *DB) SupportsNotify() bool { return db.dialect.supportsNotify() }

// Embedded tells whether the database is a local file owned by this
// installation rather than a server shared by several instances.
func (db *DB) Embedded() bool { return db.file != "" }
