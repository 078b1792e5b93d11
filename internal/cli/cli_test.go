package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/auth"
	"github.com/shimizu-tech/ordersuite/internal/cli"
	"github.com/shimizu-tech/ordersuite/internal/storetest"
	"github.com/shimizu-tech/ordersuite/internal/syncbuf"
)

// Passwords are hashed at bcrypt's lowest cost, in this binary and in the
// serve children it starts (the same binary): the production cost is a
// tenth of a second of CPU per hash and per sign-in, which no test here is
// about.
func init() { auth.SetFastHashingForTests() }

// dbArgs points a command at a fresh database of the engine under test.
// parallel runs the test alongside the package's others, except under the
// race detector: there every serve child runs instrumented, and several at
// once on two cores stretch their start-up and the one-second propagation
// bounds the tests hold them to past what those bounds measure.
func parallel(t *testing.T) {
	t.Helper()
	if !storetest.Race {
		t.Parallel()
	}
}

func dbArgs(t *testing.T) []string {
	t.Helper()
	url, _ := storetest.NewDatabase(t)
	return []string{"--database-url", url, "--data-dir", t.TempDir(),
		"--jwt-secret", "cli-test-secret-cli-test-secret-0123456789", "--log-level", "error"}
}

// migratedDBArgs is dbArgs on a database already at the newest schema, for
// tests about what runs on a migrated database (migrating a fresh one is
// the migration tests' business, and a second of the server's time).
func migratedDBArgs(t *testing.T) []string {
	t.Helper()
	url, _ := storetest.NewMigratedDatabase(t)
	return []string{"--database-url", url, "--data-dir", t.TempDir(),
		"--jwt-secret", "cli-test-secret-cli-test-secret-0123456789", "--log-level", "error"}
}

func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := cli.Execute(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestVersion(t *testing.T) {
	parallel(t)
	code, out, _ := run(t, "version")
	if code != 0 || !strings.HasPrefix(out, "ordersuite ") {
		t.Fatalf("version: %d %q", code, out)
	}
}

func TestUnknownCommandFails(t *testing.T) {
	parallel(t)
	if code, _, errOut := run(t, "frobnicate"); code == 0 || !strings.Contains(errOut, "unknown command") {
		t.Fatalf("code %d, stderr %q", code, errOut)
	}
}

func TestMigrateThenServeRefusesNothing(t *testing.T) {
	parallel(t)
	args := dbArgs(t)
	code, out, errOut := run(t, append([]string{"migrate"}, args...)...)
	if code != 0 || !strings.Contains(out, "schema at version") {
		t.Fatalf("migrate: %d %q %q", code, out, errOut)
	}
	// Migrating again is a no-op.
	if code, _, errOut := run(t, append([]string{"migrate"}, args...)...); code != 0 {
		t.Fatalf("second migrate: %d %q", code, errOut)
	}
}

func TestServeRefusesOutdatedSchemaWithoutAutoMigrate(t *testing.T) {
	parallel(t)
	args := append([]string{"serve", "--auto-migrate=false", "--listen-addr", "127.0.0.1:0"}, dbArgs(t)...)
	code, _, errOut := run(t, args...)
	if code == 0 || !strings.Contains(errOut, "outdated") {
		t.Fatalf("serve on an empty database without migrations: %d %q", code, errOut)
	}
}

func TestEnvironmentConfiguresCommands(t *testing.T) {
	url, _ := storetest.NewDatabase(t)
	t.Setenv("DATABASE_URL", url)
	t.Setenv("LOG_LEVEL", "error")
	code, out, errOut := run(t, "migrate")
	if code != 0 || !strings.Contains(out, "schema at version") {
		t.Fatalf("migrate from environment: %d %q %q", code, out, errOut)
	}
	t.Setenv("LOG_LEVEL", "loud")
	if code, _, errOut := run(t, "migrate"); code == 0 || !strings.Contains(errOut, "log-level") {
		t.Fatalf("bad LOG_LEVEL accepted: %d %q", code, errOut)
	}
}

var passwordLine = regexp.MustCompile(`restaurant admin:\s+(\S+)\s+password: (\S+)`)

func TestSeedDemoPrintsWorkingLoginAndResetsOnRerun(t *testing.T) {
	parallel(t)
	args := dbArgs(t)
	// A day of history: the logins are the point here, the demo's data is
	// the demo package's.
	code, out1, errOut := run(t, append([]string{"seed-demo", "--history-days", "1"}, args...)...)
	if code != 0 {
		t.Fatalf("seed-demo: %d %q", code, errOut)
	}
	m1 := passwordLine.FindStringSubmatch(out1)
	_, out2, _ := run(t, append([]string{"seed-demo"}, args...)...)
	m2 := passwordLine.FindStringSubmatch(out2)
	if m1 == nil || m2 == nil || m1[2] == m2[2] {
		t.Fatalf("seed-demo output lacks a fresh password:\n%s\n%s", out1, out2)
	}
	srv := startServe(t, args)
	if status, _ := srv.login(t, m1[1], m1[2]); status != http.StatusUnauthorized {
		t.Errorf("the first password still works after the re-run: %d", status)
	}
	if status, body := srv.login(t, m2[1], m2[2]); status != http.StatusOK {
		t.Errorf("login with the printed password: %d %s", status, body)
	}
}

func TestCreateAdmin(t *testing.T) {
	parallel(t)
	args := dbArgs(t)
	code, out, errOut := run(t, append([]string{"create-admin", "--email", "Ops@Example.com"}, args...)...)
	if code != 0 || !strings.Contains(out, "password: ") {
		t.Fatalf("create-admin: %d %q %q", code, out, errOut)
	}
	pw := strings.TrimSpace(out[strings.Index(out, "password: ")+len("password: "):])
	srv := startServe(t, args)
	if status, body := srv.login(t, "ops@example.com", pw); status != http.StatusOK || !strings.Contains(body, "super_admin") {
		t.Fatalf("login as the new operator: %d %s", status, body)
	}
	if code, _, _ := run(t, append([]string{"create-admin"}, args...)...); code == 0 {
		t.Error("create-admin without an e-mail succeeded")
	}
}

// TestFirstStartOnEmbeddedSQLite is what a new user does: serve with no
// configuration at all, read the printed login, log in, get a token.
func TestFirstStartOnEmbeddedSQLite(t *testing.T) {
	parallel(t)
	if storetest.URL() != "" {
		t.Log("PostgreSQL run: the embedded default is covered by the SQLite run")
	}
	dir := t.TempDir()
	srv := startServe(t, []string{"--data-dir", dir, "--log-level", "error"})
	m := passwordLine.FindStringSubmatch(srv.out.String())
	if m == nil {
		t.Fatalf("no login printed on first start:\n%s", srv.out.String())
	}
	status, body := srv.login(t, m[1], m[2])
	if status != http.StatusOK || !strings.Contains(body, `"jwt"`) {
		t.Fatalf("login with the printed credentials: %d %s", status, body)
	}
	srv.stop(t)
	// A second start on the same data keeps the data and prints no new login.
	srv2 := startServe(t, []string{"--data-dir", dir, "--log-level", "error"})
	if strings.Contains(srv2.out.String(), "password:") {
		t.Errorf("second start printed a new login:\n%s", srv2.out.String())
	}
	if status, _ := srv2.login(t, m[1], m[2]); status != http.StatusOK {
		t.Errorf("the first login no longer works after a restart: %d", status)
	}
}

// TestPostgresIsNeverSeededImplicitly: on PostgreSQL the operator comes from
// configuration, and no demo data appears.
func TestPostgresIsNeverSeededImplicitly(t *testing.T) {
	parallel(t)
	if storetest.URL() == "" {
		t.Skip("needs TEST_DATABASE_URL; the PostgreSQL run covers it")
	}
	args := append(dbArgs(t), "--admin-email", "root@example.com", "--admin-password", "configured password")
	srv := startServe(t, args)
	if strings.Contains(srv.out.String(), "Demo restaurant") {
		t.Errorf("PostgreSQL start seeded demo data:\n%s", srv.out.String())
	}
	if status, body := srv.login(t, "root@example.com", "configured password"); status != http.StatusOK {
		t.Fatalf("configured operator cannot log in: %d %s", status, body)
	}
}

type servedCLI struct {
	base   string
	out    *syncbuf.Buffer
	cancel context.CancelFunc
	done   chan int
}

var listening = regexp.MustCompile(`listening on (http://\S+)`)

func startServe(t *testing.T, args []string) *servedCLI {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &servedCLI{out: &syncbuf.Buffer{}, cancel: cancel, done: make(chan int, 1)}
	errOut := &syncbuf.Buffer{}
	go func() {
		s.done <- cli.Execute(ctx, append([]string{"serve", "--listen-addr", "127.0.0.1:0", "--shutdown-timeout", "5s"}, args...), s.out, errOut)
	}()
	// A first start on SQLite migrates and seeds the demo restaurant: some
	// 20 s under the race detector on two cores, before any contention.
	wait := 30 * time.Second
	if storetest.Race {
		wait = 2 * time.Minute
	}
	deadline := time.Now().Add(wait)
	for {
		if m := listening.FindStringSubmatch(s.out.String()); m != nil {
			s.base = m[1]
			break
		}
		select {
		case code := <-s.done:
			t.Fatalf("serve exited with %d:\n%s\n%s", code, s.out.String(), errOut.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start:\n%s\n%s", s.out.String(), errOut.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Cleanup(func() { s.stop(t) })
	return s
}

// stop sends the equivalent of SIGTERM and waits for a clean exit.
func (s *servedCLI) stop(t *testing.T) {
	t.Helper()
	if s.cancel == nil {
		return
	}
	s.cancel()
	s.cancel = nil
	select {
	case code := <-s.done:
		if code != 0 {
			t.Errorf("serve exited with %d on shutdown", code)
		}
	case <-time.After(20 * time.Second):
		t.Error("serve did not shut down")
	}
}

func (s *servedCLI) login(t *testing.T, email, password string) (int, string) {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"email": email, "password": password})
	resp, err := http.Post(s.base+"/login", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	return resp.StatusCode, buf.String()
}
