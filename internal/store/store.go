// Package store is the only package that speaks SQL. It opens the embedded
// SQLite database or PostgreSQL, keeps the schema migrated, and offers
// tenant-scoped repositories: every tenant query takes its restaurant id from
// the context, and a row of another tenant is simply not found.
package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // registers the pure-Go "sqlite" driver

	"github.com/shimizu-tech/ordersuite/internal/apperr"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// Engine names a supported database engine.
type Engine string

const (
	SQLite   Engine = "sqlite"
	Postgres Engine = "postgres"
)

//go:embed migrations
var migrations embed.FS

// DB is the product's database, on either engine.
type DB struct {
	// Engine names the engine, for logs and tests. Code that behaves
	// differently per engine asks the dialect or a capability such as
	// SupportsNotify instead.
	Engine  Engine
	dialect dialect
	sql     *sql.DB
	pool    *pgxpool.Pool // PostgreSQL only: for LISTEN/NOTIFY and bulk work
	file    string        // SQLite only: the database file
	now     func() time.Time
	auth    *authHub // authentication changes, published on commit
	// captureOff is set while the change log is turned off (SetCapture).
	captureOff *atomic.Bool
	// groups queues the plain orders of each restaurant while one of its
	// placement statements is in flight (PostgreSQL; ordergroup.go).
	groups *orderGroups
	// flushes shares WAL flushes among concurrent callers (walflush.go).
	flushes *walFlushes
}

// Options tune Open.
type Options struct {
	// Now is the clock; nil means time.Now. Tests inject a fixed clock.
	Now func() time.Time
	// PGSearchPath, when set, confines a PostgreSQL connection to one schema
	// (tests use a fresh schema each).
	PGSearchPath string
	// PGConfigure, when set, adjusts the PostgreSQL pool's configuration
	// before it connects (a tracer, a dialer; tests count round trips).
	PGConfigure func(*pgxpool.Config)
	// CountStatements, when set, is incremented for every statement sent
	// to the database (tests count the round trips of a request).
	CountStatements *atomic.Int64
}

// Open connects to databaseURL: a postgres:// or postgresql:// URL, or a
// SQLite file path (optionally prefixed with sqlite:// or file:).
func Open(ctx context.Context, databaseURL string, opt Options) (*DB, error) {
	now := opt.Now
	if now == nil {
		now = time.Now
	}
	db := &DB{now: now, auth: newAuthHub(), captureOff: &atomic.Bool{},
		groups: &orderGroups{queues: map[string]*orderQueue{}}, flushes: &walFlushes{}}
	if strings.HasPrefix(databaseURL, "postgres://") || strings.HasPrefix(databaseURL, "postgresql://") {
		pool, err := openPostgres(ctx, databaseURL, opt)
		if err != nil {
			return nil, err
		}
		var schema string
		if err := pool.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
			pool.Close()
			return nil, fmt.Errorf("store: connect to postgres: %w", err)
		}
		db.auth.channel += "_" + schema
		db.dialect, db.pool, db.sql = postgresDialect{}, pool, stdlib.OpenDBFromPool(pool)
		db.Engine = db.dialect.engine()
		return db, nil
	}

	path := strings.TrimPrefix(strings.TrimPrefix(databaseURL, "sqlite://"), "file:")
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	sqldb, err := openSQLite(ctx, path, opt.CountStatements, db.captureOff, time.Now)
	if err != nil {
		return nil, err
	}
	db.dialect, db.sql, db.file = sqliteDialect{}, sqldb, path
	db.Engine = db.dialect.engine()
	return db, nil
}

// redactURLError keeps a password in a malformed URL out of logs.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return errors.New("invalid database url")
	}
	return err
}

// Close releases every connection.
func (db *DB) Close() error {
	err := db.sql.Close()
	if db.pool != nil {
		db.pool.Close()
	}
	return err
}

// SQL exposes the database/sql handle for packages that drive their own
// schema-less work (the job queue).
func (db *DB) SQL() *sql.DB { return db.sql }

// File is the SQLite database file, empty on PostgreSQL. The job queue opens
// its own connection to it.
func (db *DB) File() string { return db.file }

// Pool is the pgx pool on PostgreSQL, nil on an engine without one
// (SQLite): River's PostgreSQL driver runs on it.
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

// Now is the store's clock, in UTC at microsecond precision (what both
// engines keep), so a value written and read back compares equal.
func (db *DB) Now() time.Time { return db.now().UTC().Truncate(time.Microsecond) }

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error { return db.sql.PingContext(ctx) }

func (db *DB) goose() (*goose.Provider, error) {
	dialect, dir := db.dialect.migrations()
	sub, err := fs.Sub(migrations, dir)
	if err != nil {
		return nil, err
	}
	return goose.NewProvider(dialect, db.sql, sub)
}

// Migrate applies every pending migration.
func (db *DB) Migrate(ctx context.Context) error {
	p, err := db.goose()
	if err != nil {
		return fmt.Errorf("store: migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	// The change log's triggers follow the tables' columns as migrated.
	return db.EnsureCapture(ctx)
}

// MigrationsDigest identifies the embedded migrations of both engines: two
// binaries with the same digest build the same schema.
func MigrationsDigest() string {
	h := sha256.New()
	_ = fs.WalkDir(migrations, "migrations", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := migrations.ReadFile(path)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s %d\n", path, len(b))
		h.Write(b)
		return nil
	})
	// The capture triggers are made by the migrate step too.
	h.Write([]byte(captureDigest()))
	return hex.EncodeToString(h.Sum(nil))
}

// SchemaStatus tells the applied and the newest known migration version.
func (db *DB) SchemaStatus(ctx context.Context) (current, latest int64, err error) {
	p, err := db.goose()
	if err != nil {
		return 0, 0, fmt.Errorf("store: migrations: %w", err)
	}
	current, err = p.GetDBVersion(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("store: read schema version: %w", err)
	}
	sources := p.ListSources()
	if len(sources) > 0 {
		latest = sources[len(sources)-1].Version
	}
	return current, latest, nil
}

// ErrSchemaOutdated means the database lacks migrations this binary needs.
var ErrSchemaOutdated = errors.New("store: database schema is outdated; run `ordersuite migrate`")

// CheckSchema returns ErrSchemaOutdated unless every migration is applied.
func (db *DB) CheckSchema(ctx context.Context) error {
	current, latest, err := db.SchemaStatus(ctx)
	if err != nil {
		return err
	}
	if current < latest {
		return fmt.Errorf("%w (at version %d, binary needs %d)", ErrSchemaOutdated, current, latest)
	}
	return nil
}

// NewID returns a UUIDv7: time-ordered (index friendly) and unique across
// installations, so a tenant moved between environments never collides.
func NewID() string { return uuid.Must(uuid.NewV7()).String() }

// ValidID reports whether s can be an id; malformed ids are "not found"
// rather than a database type error.
func ValidID(s string) bool {
	_, err := uuid.Parse(s)
	return err == nil && len(s) == 36
}

// queryer is what *sql.DB and *sql.Tx have in common.
type queryer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// inTx runs fn in a transaction, committed when fn returns nil.
func (db *DB) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	return db.endTx(tx, fn(tx))
}

// endTx commits tx when err is nil, rolls it back otherwise, and then
// publishes (or forgets) the authentication changes made in it.
func (db *DB) endTx(tx *sql.Tx, err error) error {
	if err != nil {
		_ = tx.Rollback()
		db.txEnded(tx, false)
		return err
	}
	if err := tx.Commit(); err != nil {
		db.txEnded(tx, false)
		return fmt.Errorf("store: commit: %w", err)
	}
	db.txEnded(tx, true)
	return nil
}

// tenant returns the restaurant id every tenant query must filter on.
func tenant(ctx context.Context) (string, error) {
	id, ok := tenancy.Tenant(ctx)
	if !ok {
		return "", errors.New("store: tenant query without a tenant in context")
	}
	return id, nil
}

// notFound maps sql.ErrNoRows to the caller-facing error.
func notFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return apperr.Errorf(apperr.NotFound, "%s not found", what)
	}
	return err
}

// isUniqueViolation recognises a unique-constraint failure on either engine.
func (db *DB) isUniqueViolation(err error) bool { return db.failure(err) == failUnique }

// nullTime scans a nullable timestamp.
type nullTime = sql.NullTime

// WithClock returns the same database seen through another clock: writes
// through it are stamped at now(). Importing history (demo data) uses it.
func (db *DB) WithClock(now func() time.Time) *DB {
	c := *db
	c.now = now
	return &c
}
