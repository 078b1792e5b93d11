package storetest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/demo"
	"github.com/shimizu-tech/ordersuite/internal/store"
)

// Seeding the demo restaurant's month of history is thousands of writes:
// tens of seconds on PostgreSQL beside other tests, for each test that
// starts from it. So it is seeded once, into a template of its own (a
// migrated database with the demo restaurant, keyed by the migrations, the
// days of history and the hour it was seeded at), and each test gets a copy,
// exactly as the plain template is copied: a private database, reset to the
// seeded state when reused. On SQLite the seeded file is made once per test
// binary and copied per test.
//
// The seed runs on a clock fixed at the start of the hour, so the history
// ends at most an hour before the test runs, and the same hour always seeds
// the same restaurant (the demo's variety is drawn from its clock).

// OpenDemo returns a migrated database of the test's own holding the demo
// restaurant with days of history (demo.HistoryDays for the demo's month),
// and its credentials: fresh passwords, as re-running the seed sets them.
func OpenDemo(tb testing.TB, days int) (*store.DB, demo.Credentials) {
	tb.Helper()
	_, db := OpenDemoWithURL(tb, days)
	creds, err := demo.SeedHistory(context.Background(), db, days)
	if err != nil {
		tb.Fatalf("demo credentials: %v", err)
	}
	return db, creds
}

// OpenDemoWithURL is OpenDemo without the credentials, that also returns how
// to open the same database from a URL alone.
func OpenDemoWithURL(tb testing.TB, days int) (string, *store.DB) {
	tb.Helper()
	if URL() != "" {
		url, opts := demoTemplate(days).copyFor(tb)
		return url, open(tb, url, opts)
	}
	path := filepath.Join(tb.TempDir(), "test.db")
	if err := os.WriteFile(path, sqliteDemo(tb, days), 0o600); err != nil {
		tb.Fatalf("copy the seeded SQLite database: %v", err)
	}
	return path, open(tb, path, store.Options{})
}

// seedHour is the clock the demo is seeded on, the same for every template
// this process builds.
var seedHour = sync.OnceValue(func() time.Time { return time.Now().UTC().Truncate(time.Hour) })

// templateSalt, when set, makes this process's seeded templates its own
// (the test of the build's lock builds a fresh one).
var templateSalt string

func demoKey(days int) string {
	return fmt.Sprintf("demo %d days at %s%s", days, seedHour().Format(time.RFC3339), templateSalt)
}

var demoTemplates struct {
	sync.Mutex
	byDays map[int]*template
}

func demoTemplate(days int) *template {
	demoTemplates.Lock()
	defer demoTemplates.Unlock()
	if demoTemplates.byDays == nil {
		demoTemplates.byDays = map[int]*template{}
	}
	t := demoTemplates.byDays[days]
	if t == nil {
		t = newTemplate(demoKey(days), func(ctx context.Context, url string) error {
			return seedDemo(ctx, url, days)
		})
		demoTemplates.byDays[days] = t
	}
	return t
}

// seedDemo seeds the demo restaurant into the migrated database at url.
func seedDemo(ctx context.Context, url string, days int) error {
	at := seedHour()
	db, err := store.Open(ctx, url, store.Options{Now: func() time.Time { return at }})
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := demo.SeedHistory(ctx, db, days); err != nil {
		return fmt.Errorf("seed the demo: %w", err)
	}
	return nil
}

var sqliteDemos struct {
	sync.Mutex
	byDays map[int]func(testing.TB) []byte
}

// sqliteDemo is a migrated SQLite database file with the demo seeded, made
// once per test binary.
func sqliteDemo(tb testing.TB, days int) []byte {
	tb.Helper()
	sqliteDemos.Lock()
	if sqliteDemos.byDays == nil {
		sqliteDemos.byDays = map[int]func(testing.TB) []byte{}
	}
	f := sqliteDemos.byDays[days]
	if f == nil {
		f = sqliteFile(sqliteTemplate, func(ctx context.Context, path string) error { return seedDemo(ctx, path, days) })
		sqliteDemos.byDays[days] = f
	}
	sqliteDemos.Unlock()
	return f(tb)
}
