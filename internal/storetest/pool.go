package storetest

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/store"
)

// On PostgreSQL, migrating a fresh schema costs 0.3–1 s, more than most
// tests take. A test binary therefore migrates a handful of schemas once
// and hands them from test to test, emptied with one TRUNCATE (River's
// "test schema" pattern). A schema comes back to the pool only if the test
// left its structure as it found it; one that gained or lost a table, an
// index, a function or a trigger is dropped, so no test sees another's
// leftovers.

// poolPrefix names pooled schemas; the process id in the name lets a later
// run drop the schemas of a run that was killed before its cleanup.
const poolPrefix = "pool_"

type schemaPool struct {
	mu    sync.Mutex
	admin *sql.DB
	free  []string
	seq   int
	shape string // structure signature of a freshly migrated schema
	// tables are emptied on checkout; goose's version table is kept.
	tables []string
}

var pool schemaPool

// poolAdmin returns the pool's connection to the server under test and, on
// first use in this process, drops schemas left by test processes that no
// longer run.
func (p *schemaPool) poolAdmin(tb testing.TB) *sql.DB {
	tb.Helper()
	if p.admin != nil {
		return p.admin
	}
	admin, err := sql.Open("pgx", URL())
	if err != nil {
		tb.Fatalf("TEST_DATABASE_URL: %v", err)
	}
	admin.SetMaxOpenConns(4)
	p.admin = admin
	dropOrphans(tb, admin)
	return admin
}

// dropOrphans removes pooled schemas whose process is gone (a test binary
// killed by a timeout never runs its cleanups).
func dropOrphans(tb testing.TB, admin *sql.DB) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rows, err := admin.QueryContext(ctx, `SELECT nspname FROM pg_namespace WHERE nspname LIKE 'pool\_%'`)
	if err != nil {
		tb.Fatalf("PostgreSQL at TEST_DATABASE_URL is not usable: %v", err)
	}
	var stale []string
	for rows.Next() {
		var name string
		if rows.Scan(&name) == nil && !processAlive(name) {
			stale = append(stale, name)
		}
	}
	rows.Close()
	for _, name := range stale {
		// Another process may be dropping the same orphan; either way it goes.
		_, _ = admin.ExecContext(ctx, "DROP SCHEMA IF EXISTS "+name+" CASCADE")
	}
}

// processAlive tells whether the process named in a pooled schema's name
// still runs on this machine.
func processAlive(schema string) bool {
	parts := strings.Split(strings.TrimPrefix(schema, poolPrefix), "_")
	pid, err := strconv.Atoi(parts[0])
	if err != nil || len(parts) < 2 {
		return true // not ours to judge
	}
	_, err = os.Stat(fmt.Sprintf("/proc/%d", pid))
	return err == nil
}

// shape is a signature of a schema's structure: its relations, functions
// and triggers.
func shape(ctx context.Context, admin *sql.DB, schema string) (string, error) {
	var s string
	err := admin.QueryRowContext(ctx, `
		SELECT coalesce(string_agg(x, ',' ORDER BY x), '') FROM (
			SELECT c.relkind::text || ':' || c.relname AS x FROM pg_class c WHERE c.relnamespace = $1::regnamespace
			UNION ALL SELECT 'f:' || p.proname FROM pg_proc p WHERE p.pronamespace = $1::regnamespace
			UNION ALL SELECT 't:' || t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid WHERE c.relnamespace = $1::regnamespace
			UNION ALL SELECT 'c:' || con.conname FROM pg_constraint con WHERE con.connamespace = $1::regnamespace
		) s`, schema).Scan(&s)
	return s, err
}

// checkout returns an empty, migrated schema for one test.
func (p *schemaPool) checkout(tb testing.TB) string {
	tb.Helper()
	p.mu.Lock()
	admin := p.poolAdmin(tb)
	if n := len(p.free); n > 0 {
		schema := p.free[n-1]
		p.free = p.free[:n-1]
		tables := p.tables
		p.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := admin.ExecContext(ctx, truncateAll(schema, tables))
		if err == nil {
			return schema
		}
		// A connection a test leaked may still hold a lock; that schema is
		// dropped in the background and a new one made.
		tb.Logf("empty test schema %s: %v; using a new one", schema, err)
		go admin.Exec("DROP SCHEMA " + schema + " CASCADE")
		p.mu.Lock()
	}
	p.seq++
	schema := fmt.Sprintf("%s%d_%d_%d", poolPrefix, os.Getpid(), time.Now().UnixNano()%1e9, p.seq)
	p.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		tb.Fatalf("PostgreSQL at TEST_DATABASE_URL is not usable: %v", err)
	}
	db, err := store.Open(ctx, WithSearchPath(URL(), schema), store.Options{PGSearchPath: schema})
	if err != nil {
		tb.Fatalf("open test schema: %v", err)
	}
	err = db.Migrate(ctx)
	db.Close()
	if err != nil {
		tb.Fatalf("migrate test schema: %v", err)
	}
	sh, err := shape(ctx, admin, schema)
	if err != nil {
		tb.Fatalf("read test schema: %v", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shape == "" {
		tables, err := baseTables(ctx, admin, schema)
		if err != nil {
			tb.Fatalf("read test schema: %v", err)
		}
		p.shape, p.tables = sh, tables
	}
	return schema
}

// release returns a schema to the pool once the test has closed its
// connections, or drops it when the test changed its structure.
func (p *schemaPool) release(tb testing.TB, schema string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p.mu.Lock()
	admin, want := p.admin, p.shape
	p.mu.Unlock()
	sh, err := shape(ctx, admin, schema)
	if err == nil && sh == want {
		p.mu.Lock()
		p.free = append(p.free, schema)
		p.mu.Unlock()
		return
	}
	if _, err := admin.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
		tb.Logf("drop test schema %s: %v", schema, err)
	}
}

func baseTables(ctx context.Context, admin *sql.DB, schema string) ([]string, error) {
	rows, err := admin.QueryContext(ctx, `SELECT tablename FROM pg_tables WHERE schemaname = $1 AND tablename <> 'goose_db_version' ORDER BY tablename`, schema)
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

func truncateAll(schema string, tables []string) string {
	q := make([]string, len(tables))
	for i, t := range tables {
		q[i] = schema + `."` + t + `"`
	}
	return "TRUNCATE " + strings.Join(q, ", ") + " RESTART IDENTITY CASCADE"
}
