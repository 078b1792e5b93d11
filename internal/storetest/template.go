package storetest

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/shimizu-tech/ordersuite/internal/jobs"
	"github.com/shimizu-tech/ordersuite/internal/store"
)

// A PostgreSQL test gets a database of its own, holding the migrated schema
// and no rows. Migrating a schema costs a second or more of server time per
// test and DROP DATABASE forces a checkpoint, so neither happens per test:
// the schema is migrated once into a template database (per set of
// migrations), copied (CREATE DATABASE … TEMPLATE) when no copy is free, and a
// copy is reused by emptying it (one DELETE per table the last test wrote
// to, milliseconds).
//
// A copy is readied for its next test (renamed, emptied) in the background
// as soon as its test ends, so the next test finds it ready; a process keeps
// one connection to the server for this work rather than opening one per
// test. Copies commit without waiting for the disk (synchronous_commit off,
// set on each copy database): a test database outlives no server crash, and
// the product's own flushes (an order's WAL flush) do not depend on the
// setting.
//
// Copies outlive the test binary and are shared by the binaries of a run: a
// process claims a copy with an advisory lock held by its session for
// claims (one per process, in the database TEST_DATABASE_URL names), so a copy is never used by two tests at once, and a process that ends
// (normally or killed) frees its copies. A copy is emptied when it is
// claimed, whatever state its last user left; one whose schema a test changed
// (any DDL, noted by an event trigger) is dropped instead.
const templatePrefix = "ordersuite_tmpl_"

// templateLayout changes whenever buildTemplate adds something to the
// template, or copies are claimed another way, so that an older template
// (or its copies, claimed the older way) is not taken for a current one.
const templateLayout = "7"

// template is one kind of template database and the copies this process
// holds of it: the migrated, empty schema (plain), or that schema with the
// demo restaurant seeded (see demo.go).
type template struct {
	// key tells this kind's templates apart from the plain one's; empty
	// for the plain template.
	key string
	// fill writes what the kind holds beyond the migrations, into the
	// database being built at url.
	fill func(ctx context.Context, url string) error

	once   sync.Once
	name   string
	copies string // name prefix of this template's copies
	err    error
	built  bool // this process built it (tests of the build's lock read it)

	// free holds the copies this process claimed, readied for a test,
	// that no test uses now; renewing counts those being readied in the
	// background.
	free struct {
		sync.Mutex
		cond     *sync.Cond
		list     []*copyDB
		renewing int
	}

	// tables are the copies' tables and seeded those that the template
	// holds rows of, the same for every copy of the template (a copy
	// whose schema a test changed is dropped, not emptied).
	tables struct {
		sync.Mutex
		names  []string
		seeded map[string]bool
	}
}

func newTemplate(key string, fill func(context.Context, string) error) *template {
	t := &template{key: key, fill: fill}
	t.free.cond = sync.NewCond(&t.free.Mutex)
	return t
}

// plain is the migrated template most tests copy.
var plain = newTemplate("", nil)

// copyTemplate gives the test a migrated, empty database of its own.
func copyTemplate(tb testing.TB) (string, store.Options) {
	tb.Helper()
	return plain.copyFor(tb)
}

// copyFor gives the test a database of its own copied from t.
func (t *template) copyFor(tb testing.TB) (string, store.Options) {
	tb.Helper()
	d, err := t.acquire()
	if err != nil {
		tb.Fatalf("PostgreSQL test database: %v", err)
	}
	tb.Cleanup(func() { t.release(d) })
	return withDatabase(URL(), d.name), store.Options{}
}

type copyDB struct {
	name string
	// oid keys the advisory lock, held by this process's claims session,
	// that makes the copy ours: a rename keeps it.
	oid int64
	// written is what the server had counted of the copy's writes when it
	// was last emptied (or made); nil when unknown (a copy another
	// process left).
	written *writeCounts
}

// server is this process's connection pool to the database TEST_DATABASE_URL
// names, for creating, renaming and dropping copies.
var server struct {
	once sync.Once
	db   *sql.DB
	err  error
}

func adminDB(base string) (*sql.DB, error) {
	server.once.Do(func() {
		server.db, server.err = sql.Open("pgx", base)
		if server.err == nil {
			server.db.SetMaxIdleConns(2)
			server.db.SetConnMaxIdleTime(time.Minute)
		}
	})
	return server.db, server.err
}

// claimLock takes the lock of the copy whose OID is $1: a key of its own
// for each database OID, above the range of hashtext's keys. unclaimLock
// frees it.
const (
	claimLock   = `SELECT pg_try_advisory_lock($1::int8 + 8589934592)`
	unclaimLock = `SELECT pg_advisory_unlock($1::int8 + 8589934592)`
)

// claims is the session that holds this process's claims. A session holds
// any number of advisory locks, so a process keeps one connection for its
// claims however many copies it holds; a connection per copy held took a
// third of the server's connections when three test binaries ran at once.
// Its statements never wait (a try-lock, an unlock) and run without a
// deadline: a cancelled statement could cost the session, and every claim
// with it. held are the OIDs it holds: the session that holds a lock gets
// it again, so a copy this process uses must not be claimed twice.
var claims struct {
	sync.Mutex
	conn *sql.Conn
	held map[int64]bool
}

// claim takes the copy name unless another process holds it (nil, nil).
func claim(ctx context.Context, base, name string) (*copyDB, error) {
	claims.Lock()
	defer claims.Unlock()
	if claims.conn == nil {
		admin, err := adminDB(base)
		if err != nil {
			return nil, err
		}
		if claims.conn, err = admin.Conn(ctx); err != nil {
			return nil, err
		}
		claims.held = map[int64]bool{}
	}
	var oid int64
	err := claims.conn.QueryRowContext(context.Background(), `SELECT oid FROM pg_database WHERE datname = $1`, name).Scan(&oid)
	if errors.Is(err, sql.ErrNoRows) || err == nil && claims.held[oid] {
		return nil, nil
	}
	var ok bool
	if err == nil {
		err = claims.conn.QueryRowContext(context.Background(), claimLock, oid).Scan(&ok)
	}
	if err != nil || !ok {
		return nil, err
	}
	claims.held[oid] = true
	return &copyDB{name: name, oid: oid}, nil
}

// unclaim frees the copy for other processes.
func (d *copyDB) unclaim() {
	claims.Lock()
	defer claims.Unlock()
	delete(claims.held, d.oid)
	claims.conn.ExecContext(context.Background(), unclaimLock, d.oid) //nolint:errcheck // a lost session has freed it already
}

func (t *template) acquire() (*copyDB, error) {
	base := URL()
	t.once.Do(func() { t.err = t.ensure(base) })
	if t.err != nil {
		return nil, fmt.Errorf("template: %w", t.err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	t.free.Lock()
	for len(t.free.list) == 0 && t.free.renewing > 0 {
		t.free.cond.Wait() // a copy being readied is cheaper than a new one
	}
	if n := len(t.free.list); n > 0 {
		d := t.free.list[n-1]
		t.free.list = t.free.list[:n-1]
		t.free.Unlock()
		return d, nil
	}
	t.free.Unlock()
	if d := t.claimUnused(ctx, base); d != nil {
		return d, nil
	}
	return t.newCopy(ctx, base)
}

// release readies the copy for the next test in the background. A process
// that ends meanwhile leaves the copy unclaimed; whoever claims it next
// empties it.
func (t *template) release(d *copyDB) {
	t.free.Lock()
	t.free.renewing++
	t.free.Unlock()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		d = t.renew(ctx, URL(), d)
		t.free.Lock()
		t.free.renewing--
		if d != nil {
			t.free.list = append(t.free.list, d)
		}
		t.free.cond.Broadcast()
		t.free.Unlock()
	}()
}

// claimUnused claims and empties a copy that no process holds, if any.
func (t *template) claimUnused(ctx context.Context, base string) *copyDB {
	admin, err := adminDB(base)
	if err != nil {
		return nil
	}
	rows, err := admin.QueryContext(ctx, "SELECT datname FROM pg_database WHERE starts_with(datname, $1) ORDER BY random()", t.copies)
	if err != nil {
		return nil
	}
	var names []string
	for rows.Next() {
		var name string
		if rows.Scan(&name) == nil {
			names = append(names, name)
		}
	}
	rows.Close()
	for _, name := range names {
		var d *copyDB
		err := withCopiesLock(ctx, base, func() error {
			var err error
			d, err = claim(ctx, base, name)
			return err
		})
		if err != nil || d == nil {
			continue
		}
		if d = t.renew(ctx, base, d); d != nil {
			return d
		}
	}
	return nil
}

// renew readies a claimed copy for its next test: renamed, so that nothing
// left connected by the last one (a leaked pool reconnects on its own) can
// reach it again, then emptied. The claim is held throughout (a rename keeps
// the OID it is keyed by). It returns nil when the copy cannot be used (a
// test changed its schema: that copy is dropped).
func (t *template) renew(ctx context.Context, base string, d *copyDB) *copyDB {
	name := fmt.Sprintf("%s%d_%d", t.copies, os.Getpid(), schemaSeq.Add(1))
	admin, err := adminDB(base)
	if err == nil {
		err = rename(ctx, admin, d.name, name)
	}
	if err != nil {
		d.unclaim()
		return nil
	}
	d.name = name
	if err := t.empty(ctx, base, d); err != nil {
		go d.drop(base) // forces a checkpoint: not on the test's time
		return nil
	}
	return d
}

// endOthers ends every other session connected to conn's database and
// waits until they have exited.
func endOthers(ctx context.Context, conn *sql.Conn) error {
	for {
		var others int
		err := conn.QueryRowContext(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
			WHERE datname = current_database() AND pid <> pg_backend_pid()`).Scan(&others)
		if err != nil || others == 0 {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// rename renames a copy, ending what is still connected to it and waiting
// for those sessions to exit. (pg_terminate_backend's own wait looks in
// steps of 100 ms; a session ends in a few.)
func rename(ctx context.Context, admin *sql.DB, from, to string) error {
	var err error
	for try := 0; ; try++ {
		_, err = admin.ExecContext(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", from)
		if err == nil {
			_, err = admin.ExecContext(ctx, "ALTER DATABASE "+quote(from)+" RENAME TO "+quote(to))
		}
		var pgErr *pgconn.PgError
		if err == nil || !errors.As(err, &pgErr) || pgErr.Code != "55006" || try == 400 {
			return err
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// withCopiesLock runs f holding a lock shared by the processes of a run (an
// advisory lock in the database TEST_DATABASE_URL names). A copy is
// unclaimed just after it is made; without the lock another process looking
// for an unclaimed copy could claim it in that moment.
func withCopiesLock(ctx context.Context, base string, f func() error) error {
	admin, err := adminDB(base)
	if err != nil {
		return err
	}
	conn, err := admin.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock(hashtext('ordersuite test copies'))"); err != nil {
		return err
	}
	defer conn.ExecContext(context.Background(), "SELECT pg_advisory_unlock(hashtext('ordersuite test copies'))") //nolint:errcheck
	return f()
}

// session opens a connection to the copy, for emptying it.
func (d *copyDB) session(ctx context.Context, base string) (*sql.DB, *sql.Conn, error) {
	db, err := sql.Open("pgx", withDatabase(base, d.name))
	if err != nil {
		return nil, nil, err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return db, conn, nil
}

// empty deletes every row a test wrote and puts back those the template
// held (the migrations' rows, and the demo's in a seeded template), in one
// implicit transaction.
//
// A table the server has counted no write to since the copy was last
// emptied is left alone: one with no insert holds no row, and a seeded one
// with no insert, update or delete (nor truncation, which gives it a new
// file) holds the template's rows. A DELETE on a backend's first use
// of a table costs the server its catalog entries and the planning (most of
// a reset's time when every table was emptied, on a fresh connection),
// and a test writes to a few tables. The server's counts of a session's
// writes are complete once the session has exited, which every other
// session has when the counts are read: the rename before this (renew)
// succeeds only when no session is connected to the copy, as the process
// array counts them, and a session leaves that array after its counts are
// flushed (pg_stat_activity alone would not tell: a session leaves it
// before its counts are flushed). A copy whose counts are not known
// (left by another process), or when the server keeps none, or their reset
// since, has every table emptied. The counts kept for the next reset are
// read after this one's own writes are counted.
//
// The session that empties the copy is closed before the test starts, so
// that the next rename finds only what the test left connected.
func (t *template) empty(ctx context.Context, base string, d *copyDB) error {
	db, conn, err := d.session(ctx, base)
	if err != nil {
		return err
	}
	defer db.Close()
	defer conn.Close()
	// Anything still connected (a process the last test started, a leaked
	// pool) must not write after the reset.
	if err := endOthers(ctx, conn); err != nil {
		return err
	}
	var ddl bool
	if err := conn.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM storetest.ddl)").Scan(&ddl); err != nil {
		return err
	}
	if ddl {
		return errors.New("a test changed the schema")
	}
	tables, seeded, err := t.tablesOfCopies(ctx, conn)
	if err != nil {
		return err
	}
	counts, err := countWrites(ctx, conn)
	if err != nil {
		return err
	}
	stmt, some := resetStatement(tables, seeded, func(table string) bool {
		return !counts.unwritten(d.written, table, seeded[table])
	})
	if !some {
		d.written = counts
		return nil
	}
	_, err = conn.ExecContext(ctx, stmt)
	d.written = nil
	if err != nil {
		return err
	}
	// This session's counts reach the server as its next statement ends
	// (were they not, the seeded tables would only be emptied again).
	if _, err := conn.ExecContext(ctx, "SELECT pg_stat_force_next_flush()"); err != nil {
		return err
	}
	d.written, err = countWrites(ctx, conn)
	return err
}

// tablesOfCopies lists the copies' tables and those the template holds rows
// of, read from the first copy emptied.
func (t *template) tablesOfCopies(ctx context.Context, conn *sql.Conn) ([]string, map[string]bool, error) {
	t.tables.Lock()
	defer t.tables.Unlock()
	if t.tables.names == nil {
		tables, err := tablesOf(ctx, conn, "public")
		if err != nil {
			return nil, nil, err
		}
		kept, err := tablesOf(ctx, conn, "storetest")
		if err != nil {
			return nil, nil, err
		}
		seeded := map[string]bool{}
		for _, name := range kept {
			seeded[name] = true
		}
		t.tables.names, t.tables.seeded = tables, seeded
	}
	return t.tables.names, t.tables.seeded, nil
}

// writeCounts is what the server has counted of a database's writes: per
// table, the rows ever inserted (COPY, triggers' and rolled-back inserts
// included), updated and deleted, and the file it is stored in (which
// TRUNCATE replaces).
type writeCounts struct {
	since  string // when the database's counts were last reset
	tables map[string]tableCounts
}

type tableCounts struct{ inserted, updated, deleted, file int64 }

// countWrites reads the counts of the current database; nil when the server
// keeps none (track_counts off).
func countWrites(ctx context.Context, conn *sql.Conn) (*writeCounts, error) {
	var tracked bool
	c := &writeCounts{tables: map[string]tableCounts{}}
	err := conn.QueryRowContext(ctx, `SELECT current_setting('track_counts')::bool,
		COALESCE(pg_stat_get_db_stat_reset_time(oid)::text, '') FROM pg_database WHERE datname = current_database()`).Scan(&tracked, &c.since)
	if err != nil || !tracked {
		return nil, err
	}
	rows, err := conn.QueryContext(ctx, `SELECT c.relname, pg_stat_get_tuples_inserted(c.oid), pg_stat_get_tuples_updated(c.oid),
		pg_stat_get_tuples_deleted(c.oid), c.relfilenode::int8 FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r'`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var table string
		var n tableCounts
		if err := rows.Scan(&table, &n.inserted, &n.updated, &n.deleted, &n.file); err != nil {
			return nil, err
		}
		c.tables[table] = n
	}
	return c, rows.Err()
}

// unwritten tells whether table can be left as it is, by the counts before
// and c (false when either is unknown): no row inserted, and for a seeded
// table no row inserted, updated, deleted or truncated.
func (c *writeCounts) unwritten(before *writeCounts, table string, seeded bool) bool {
	if c == nil || before == nil || c.since != before.since {
		return false
	}
	now, ok := c.tables[table]
	was, wasOK := before.tables[table]
	if !ok || !wasOK {
		return false
	}
	if seeded {
		return now == was
	}
	return now.inserted == was.inserted
}

// drop drops the copy, claimed until it is gone.
func (d *copyDB) drop(base string) {
	defer d.unclaim()
	admin, err := adminDB(base)
	if err != nil {
		return
	}
	admin.Exec("DROP DATABASE IF EXISTS " + quote(d.name) + " WITH (FORCE)") //nolint:errcheck
}

// newCopy copies the template and claims the copy.
func (t *template) newCopy(ctx context.Context, base string) (*copyDB, error) {
	admin, err := adminDB(base)
	if err != nil {
		return nil, fmt.Errorf("TEST_DATABASE_URL: %w", err)
	}
	name := fmt.Sprintf("%s%d_%d", t.copies, os.Getpid(), schemaSeq.Add(1))
	var d *copyDB
	err = withCopiesLock(ctx, base, func() error {
		if err := createFrom(ctx, admin, name, t.name); err != nil {
			return fmt.Errorf("copy the template: %w", err)
		}
		// Per database, so only the copies' sessions commit this way; kept
		// across renames.
		if _, err := admin.ExecContext(ctx, "ALTER DATABASE "+quote(name)+" SET synchronous_commit = off"); err != nil {
			return fmt.Errorf("copy the template: %w", err)
		}
		var err error
		d, err = claim(ctx, base, name)
		return err
	})
	if err == nil && d == nil {
		err = errors.New("a new copy is held by another process")
	}
	if err == nil {
		// The counts of a new database; unknown counts (nil) would only
		// cost the first reset emptying every table.
		if db, conn, err := d.session(ctx, base); err == nil {
			d.written, _ = countWrites(ctx, conn)
			conn.Close()
			db.Close()
		}
	}
	return d, err
}

// createFrom copies a template, waiting out the moment after a template is
// built when its last connections are still closing.
func createFrom(ctx context.Context, admin *sql.DB, name, template string) error {
	for {
		_, err := admin.ExecContext(ctx, "CREATE DATABASE "+quote(name)+" TEMPLATE "+quote(template)+" STRATEGY WAL_LOG")
		var pgErr *pgconn.PgError
		if err == nil || !errors.As(err, &pgErr) || pgErr.Code != "55006" { // object_in_use
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (%s)", err, pgErr.Detail)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// digest names the template: the plain template's layout and migrations,
// and for another kind a hash of those and its key.
func (t *template) digest() string {
	d := templateLayout + store.MigrationsDigest()[:11]
	if t.key == "" {
		return d
	}
	sum := sha256.Sum256([]byte(d + "\x00" + t.key))
	return hex.EncodeToString(sum[:])[:12]
}

// ensure builds the template for this binary's migrations unless it
// exists, under an advisory lock so that test binaries running at the same
// time build it once. The template is built under another name and renamed
// when complete, so a run killed half-way leaves no broken template. Each
// kind has a lock of its own: a binary waiting for the seeded template does
// not hold up the others' plain one.
func (t *template) ensure(base string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	digest := t.digest()
	t.name = templatePrefix + digest
	t.copies = baseName(base) + "_" + digest + "_"
	admin, err := sql.Open("pgx", base)
	if err != nil {
		return err
	}
	defer admin.Close()
	conn, err := admin.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	lock := "ordersuite test template"
	if t.key != "" {
		lock += " " + digest
	}
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock(hashtext($1))", lock); err != nil {
		return err
	}
	defer conn.ExecContext(context.Background(), "SELECT pg_advisory_unlock(hashtext($1))", lock) //nolint:errcheck
	t.dropLeftovers(ctx, conn, base)
	var exists bool
	if err := conn.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", t.name).Scan(&exists); err != nil {
		return err
	}
	if exists {
		return nil
	}
	build := fmt.Sprintf("%sbuild_%d_%s", templatePrefix, os.Getpid(), digest)
	if _, err := conn.ExecContext(ctx, "DROP DATABASE IF EXISTS "+quote(build)+" WITH (FORCE)"); err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, "CREATE DATABASE "+quote(build)); err != nil {
		return err
	}
	if err := buildTemplate(ctx, withDatabase(base, build), t.fill); err != nil {
		return err
	}
	// Closing a pool does not wait for the server's backends to exit.
	if _, err := conn.ExecContext(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", build); err != nil {
		return err
	}
	// A template nobody may connect to: a connection (autovacuum's
	// included) would make copying it fail.
	if _, err := conn.ExecContext(ctx, "ALTER DATABASE "+quote(build)+" WITH ALLOW_CONNECTIONS false"); err != nil {
		return err
	}
	for {
		_, err = conn.ExecContext(ctx, "ALTER DATABASE "+quote(build)+" RENAME TO "+quote(t.name))
		var pgErr *pgconn.PgError
		if err == nil || !errors.As(err, &pgErr) || pgErr.Code != "55006" || ctx.Err() != nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		return err
	}
	comment := strconv.FormatInt(time.Now().Unix(), 10)
	if t.key != "" {
		comment += " " + seededMark
	}
	if _, err = conn.ExecContext(ctx, "COMMENT ON DATABASE "+quote(t.name)+" IS '"+comment+"'"); err != nil {
		return err
	}
	t.built = true
	return nil
}

// seededMark follows the build time in the comment of a template that holds
// more than the migrations: such a template is keyed by the hour it was
// seeded at, so it is dropped once that is well past.
const seededMark = "seeded"

// buildTemplate migrates the database at url, fills it (when fill is not
// nil) and adds, in a schema of its own that the product never reads, what
// reusing a copy needs: the rows the migrations and fill wrote (to put back
// after a test) and an event trigger that notes any change of schema.
func buildTemplate(ctx context.Context, url string, fill func(context.Context, string) error) error {
	db, err := store.Open(ctx, url, store.Options{})
	if err != nil {
		return err
	}
	err = db.Migrate(ctx)
	if err == nil {
		err = jobs.Migrate(ctx, db) // as `ordersuite migrate` does
	}
	db.Close()
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if fill != nil {
		if err := fill(ctx, url); err != nil {
			return err
		}
	}
	conn, err := sql.Open("pgx", url)
	if err != nil {
		return err
	}
	defer conn.Close()
	tables, err := tablesOf(ctx, conn, "public")
	if err != nil {
		return err
	}
	stmts := []string{"CREATE SCHEMA storetest"}
	for _, t := range tables {
		var rows bool
		if err := conn.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM public."+quote(t)+")").Scan(&rows); err != nil {
			return err
		}
		if rows {
			stmts = append(stmts, "CREATE TABLE storetest."+quote(t)+" AS SELECT * FROM public."+quote(t))
		}
	}
	stmts = append(stmts,
		"CREATE TABLE storetest.ddl (tag TEXT NOT NULL)",
		`CREATE FUNCTION storetest.note_ddl() RETURNS event_trigger LANGUAGE plpgsql AS
			$$BEGIN INSERT INTO storetest.ddl VALUES (tg_tag); END$$`,
		"CREATE EVENT TRIGGER storetest_ddl ON ddl_command_end EXECUTE FUNCTION storetest.note_ddl()",
		"CREATE EVENT TRIGGER storetest_drop ON sql_drop EXECUTE FUNCTION storetest.note_ddl()",
		"DELETE FROM storetest.ddl",
		"VACUUM (FREEZE, ANALYZE)") // leaves autovacuum nothing to do in the template
	for _, stmt := range stmts {
		if _, err := conn.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("%s: %w", stmt, err)
		}
	}
	return nil
}

func tablesOf(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, schema string) ([]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') ORDER BY 1`, schema)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// resetStatement empties the tables written (per written) and puts back
// the rows the template holds in those of them it seeded: one round trip
// per test. It tells whether any table was written.
func resetStatement(tables []string, seeded map[string]bool, written func(table string) bool) (string, bool) {
	var b strings.Builder
	b.WriteString("SET session_replication_role = replica;\n") // no foreign-key checks while emptying
	some := false
	for _, t := range tables {
		if !written(t) {
			continue
		}
		some = true
		fmt.Fprintf(&b, "DELETE FROM public.%s;\n", quote(t))
		if seeded[t] {
			fmt.Fprintf(&b, "INSERT INTO public.%s SELECT * FROM storetest.%s;\n", quote(t), quote(t))
		}
	}
	b.WriteString("RESET session_replication_role;")
	return b.String(), some
}

// dropLeftovers drops the templates of other migrations built more than a
// day ago, seeded templates of another hour built more than three hours ago,
// and the unused copies of templates that no longer exist. Best effort: a
// failure here only leaves disk space taken.
func (t *template) dropLeftovers(ctx context.Context, conn *sql.Conn, base string) {
	rows, err := conn.QueryContext(ctx, `SELECT datname, COALESCE(shobj_description(oid, 'pg_database'), '') FROM pg_database
		WHERE starts_with(datname, $1) OR starts_with(datname, $2)`, templatePrefix, baseName(base)+"_")
	if err != nil {
		return
	}
	templates := map[string]bool{}
	var dropTemplates, copies []string
	for rows.Next() {
		var name, comment string
		if rows.Scan(&name, &comment) != nil {
			continue
		}
		if digest, ok := strings.CutPrefix(name, templatePrefix); ok {
			stamp, mark, _ := strings.Cut(comment, " ")
			keep := 24 * time.Hour
			if mark == seededMark {
				keep = 3 * time.Hour
			}
			built, err := strconv.ParseInt(stamp, 10, 64)
			// This process's other kinds are current too: a seeded
			// template's build must not drop the plain one.
			current := name == t.name || name == templatePrefix+plain.digest()
			if err == nil && !current && time.Since(time.Unix(built, 0)) > keep {
				dropTemplates = append(dropTemplates, name)
				continue
			}
			templates[digest] = true
			continue
		}
		copies = append(copies, name)
	}
	rows.Close()
	for _, name := range dropTemplates {
		conn.ExecContext(ctx, "DROP DATABASE IF EXISTS "+quote(name)+" WITH (FORCE)") //nolint:errcheck
	}
	for _, name := range copies {
		m := copyName.FindStringSubmatch(strings.TrimPrefix(name, baseName(base)+"_"))
		if m == nil || templates[m[1]] {
			continue
		}
		if d, err := claim(ctx, base, name); err == nil && d != nil {
			d.drop(base)
		}
	}
}

// copyName is a copy's name after its base name: template digest, process
// and sequence number.
var copyName = regexp.MustCompile(`^([0-9a-f]{12})_\d+_\d+$`)

// baseName is the database TEST_DATABASE_URL names, shortened so that the
// per-test names stay within PostgreSQL's 63 bytes.
func baseName(pgURL string) string {
	u, err := url.Parse(pgURL)
	name := "ordersuite_test"
	if err == nil && strings.Trim(u.Path, "/") != "" {
		name = strings.Trim(u.Path, "/")
	}
	if len(name) > 30 {
		name = name[:30]
	}
	return name
}

// withDatabase is pgURL pointing at another database on the same server.
func withDatabase(pgURL, name string) string {
	u, err := url.Parse(pgURL)
	if err != nil {
		return pgURL
	}
	u.Path = "/" + name
	return u.String()
}

func quote(ident string) string { return `"` + strings.ReplaceAll(ident, `"`, `""`) + `"` }
