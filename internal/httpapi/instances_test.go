package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/auth"
	"github.com/shimizu-tech/ordersuite/internal/events"
	"github.com/shimizu-tech/ordersuite/internal/flags"
	"github.com/shimizu-tech/ordersuite/internal/httpapi"
	"github.com/shimizu-tech/ordersuite/internal/metrics"
	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/storetest"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// instance is one serve-like server: its own pool on the shared database,
// its own auth state in memory, a real HTTP server on loopback.
type instance struct {
	db   *store.DB
	auth *auth.Service
	url  string
}

func startInstance(t *testing.T, url string, check time.Duration) *instance {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, url, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a := &auth.Service{DB: db, Secret: []byte("test-secret-test-secret-test-secret!"), CheckInterval: check, Log: log}
	a.Start(ctx)
	t.Cleanup(a.Close)
	select {
	case <-a.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("auth state never became live")
	}
	fl := flags.New(db, flags.Options{Log: log})
	fl.Start(ctx)
	t.Cleanup(fl.Close)
	srv := &httpapi.Server{DB: db, Auth: a, Events: events.StoreSink{DB: db, Log: log}, Metrics: metrics.New(), Log: log, Flags: fl}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return &instance{db: db, auth: a, url: hs.URL}
}

func (in *instance) call(t *testing.T, method, path, token string, body any, headers ...string) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, in.url+path, rd)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}

// refusedWithin polls until the credential is refused on in (401 or 403) and
// returns how long that took, failing the test past limit.
func refusedWithin(t *testing.T, in *instance, start time.Time, limit time.Duration, method, path, token string) time.Duration {
	t.Helper()
	for {
		if s := in.call(t, method, path, token, nil); s == http.StatusUnauthorized || s == http.StatusForbidden {
			return time.Since(start)
		}
		if time.Since(start) > limit {
			t.Fatalf("%s %s still accepted %v after the change", method, path, time.Since(start))
		}
		time.Sleep(2 * time.Millisecond)
	}
}

type cluster struct {
	t         *testing.T
	db        *store.DB
	instances []*instance
	r         tenancy.Restaurant
	admin     tenancy.User
	super     tenancy.User
}

func newCluster(t *testing.T, n int, check time.Duration) *cluster {
	if storetest.URL() == "" {
		t.Skip("several instances share one database through PostgreSQL: set TEST_DATABASE_URL")
	}
	url, db := storetest.OpenWithURL(t)
	c := &cluster{t: t, db: db}
	for range n {
		c.instances = append(c.instances, startInstance(t, url, check))
	}
	ctx := context.Background()
	var err error
	if c.r, err = db.CreateRestaurant(ctx, "Alpha Sushi", "AS"); err != nil {
		t.Fatal(err)
	}
	hash, _ := auth.HashPassword(testPassword)
	if c.admin, err = db.CreateUser(tenancy.WithTenant(ctx, c.r.ID), tenancy.User{Email: "admin@as.test", Role: tenancy.Admin, PasswordHash: hash}); err != nil {
		t.Fatal(err)
	}
	if c.super, err = db.UpsertSuperAdmin(ctx, "root@platform.test", "Root", hash); err != nil {
		t.Fatal(err)
	}
	return c
}

func (c *cluster) user(role tenancy.Role) tenancy.User {
	hash, _ := auth.HashPassword(testPassword)
	u, err := c.db.CreateUser(tenancy.WithTenant(context.Background(), c.r.ID),
		tenancy.User{Email: store.NewID() + "@as.test", Role: role, PasswordHash: hash})
	if err != nil {
		c.t.Fatal(err)
	}
	return u
}

func (c *cluster) token(u tenancy.User) string {
	tok, _, err := c.instances[0].auth.Issue(u)
	if err != nil {
		c.t.Fatal(err)
	}
	return tok
}

// TestRevocationReachesEveryInstance: on PostgreSQL, with three instances
// whose safety-net check is an hour away (so only notifications can be
// what carries the change), each kind of revocation made on the first makes
// the credential refused on the other two within a second — 20 tries each.
func TestRevocationReachesEveryInstance(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 3, time.Hour)
	first, others := c.instances[0], c.instances[1:]
	const tries = 20
	const limit = time.Second
	ctx := tenancy.WithTenant(context.Background(), c.r.ID)
	superTok := c.token(c.super)
	adminTok := c.token(c.admin)
	tenantHeader := []string{httpapi.TenantHeader, c.r.ID}

	type change struct {
		name string
		// prepare returns the credential and the route it is checked on;
		// act makes the change on the first instance.
		prepare func() (token, method, path string)
		act     func(token string)
		after   func()
	}
	var victim tenancy.User
	var keyID string
	changes := []change{
		{name: "logout",
			prepare: func() (string, string, string) { return c.token(c.user(tenancy.Staff)), "GET", "/api/v1/me" },
			act: func(tok string) {
				if s := first.call(t, "POST", "/logout", tok, nil); s != http.StatusNoContent {
					t.Fatalf("logout: %d", s)
				}
			}},
		{name: "user revocation",
			prepare: func() (string, string, string) {
				victim = c.user(tenancy.Staff)
				return c.token(victim), "GET", "/api/v1/me"
			},
			act: func(string) {
				if s := first.call(t, "POST", "/api/v1/users/"+victim.ID+"/revoke_tokens", adminTok, map[string]any{}); s != http.StatusOK && s != http.StatusNoContent {
					t.Fatalf("revoke user: %d", s)
				}
			}},
		{name: "password change",
			prepare: func() (string, string, string) {
				victim = c.user(tenancy.Customer)
				return c.token(victim), "GET", "/api/v1/me"
			},
			act: func(string) {
				if s := first.call(t, "PATCH", "/api/v1/users/"+victim.ID, adminTok, map[string]any{"password": "another long password"}); s != http.StatusOK {
					t.Fatalf("password change: %d", s)
				}
			}},
		{name: "tenant revocation",
			prepare: func() (string, string, string) { return c.token(c.user(tenancy.Staff)), "GET", "/api/v1/me" },
			act: func(string) {
				if s := first.call(t, "POST", "/admin/restaurants/"+c.r.ID+"/revoke_tokens", superTok, map[string]any{}); s != http.StatusOK && s != http.StatusNoContent {
					t.Fatalf("revoke tenant: %d", s)
				}
			},
			after: func() { adminTok = c.token(c.admin) }},
		{name: "SDK key revocation",
			prepare: func() (string, string, string) {
				k, key, err := first.auth.CreateSDKKey(ctx, "instances")
				if err != nil {
					t.Fatal(err)
				}
				keyID = k.ID
				return key, "POST", "/ofrep/v1/evaluate/flags"
			},
			act: func(string) {
				if s := first.call(t, "DELETE", "/admin/sdk_keys/"+keyID, adminTok, nil); s != http.StatusOK {
					t.Fatalf("revoke SDK key: %d", s)
				}
			}},
		{name: "suspension",
			prepare: func() (string, string, string) { return c.token(c.user(tenancy.Staff)), "GET", "/api/v1/me" },
			act: func(string) {
				if s := first.call(t, "POST", "/admin/restaurants/"+c.r.ID+"/status", superTok, map[string]any{"status": "suspended"}, tenantHeader...); s != http.StatusOK {
					t.Fatalf("suspend: %d", s)
				}
			},
			after: func() {
				if s := first.call(t, "POST", "/admin/restaurants/"+c.r.ID+"/status", superTok, map[string]any{"status": "active"}, tenantHeader...); s != http.StatusOK {
					t.Fatalf("reactivate: %d", s)
				}
				adminTok = c.token(c.admin)
			}},
	}
	for _, ch := range changes {
		var worst time.Duration
		for range tries {
			tok, method, path := ch.prepare()
			time.Sleep(time.Millisecond) // a token issued after the last cut-off
			for i, in := range c.instances {
				if s := in.call(t, method, path, tok, nil); s != http.StatusOK {
					t.Fatalf("%s: instance %d refused the credential before the change: %d", ch.name, i, s)
				}
			}
			start := time.Now()
			ch.act(tok)
			for _, in := range others {
				worst = max(worst, refusedWithin(t, in, start, limit, method, path, tok))
			}
			if ch.after != nil {
				ch.after()
			}
		}
		t.Logf("%-18s refused on the other instances within %v at most (%d tries)", ch.name, worst, tries)
	}
}

// TestLostListenerFailsSafe: killing an instance's listening connection
// (pg_terminate_backend) does not let it keep accepting a token revoked
// meanwhile; it reads the database until it listens again, then serves
// from memory and follows changes again. A change that is never announced
// at all is caught by the version check within its interval.
func TestLostListenerFailsSafe(t *testing.T) {
	t.Parallel()
	const interval = 300 * time.Millisecond
	c := newCluster(t, 2, interval)
	first, second := c.instances[0], c.instances[1]
	adminTok := c.token(c.admin)
	ctx := context.Background()

	victim := c.user(tenancy.Staff)
	tok := c.token(victim)
	if s := second.call(t, "GET", "/api/v1/me", tok, nil); s != http.StatusOK {
		t.Fatalf("before: %d", s)
	}
	pid := second.auth.ListenerPID()
	if pid == 0 {
		t.Fatal("the second instance is not listening")
	}
	if _, err := c.db.SQL().ExecContext(ctx, `SELECT pg_terminate_backend($1)`, int32(pid)); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if s := first.call(t, "POST", "/api/v1/users/"+victim.ID+"/revoke_tokens", adminTok, map[string]any{}); s != http.StatusOK && s != http.StatusNoContent {
		t.Fatalf("revoke: %d", s)
	}
	took := refusedWithin(t, second, start, interval, "GET", "/api/v1/me", tok)
	t.Logf("revoked while the listener was down: refused after %v (safety net %v)", took, interval)

	// It listens again on a new connection and serves from memory.
	deadline := time.Now().Add(10 * time.Second)
	for second.auth.ListenerPID() == 0 || second.auth.ListenerPID() == pid || !second.auth.Live() {
		if time.Now().After(deadline) {
			t.Fatal("never listened again")
		}
		time.Sleep(10 * time.Millisecond)
	}
	victim = c.user(tenancy.Staff)
	tok = c.token(victim)
	time.Sleep(time.Millisecond)
	if s := second.call(t, "GET", "/api/v1/me", tok, nil); s != http.StatusOK {
		t.Fatalf("after reconnecting: %d", s)
	}
	start = time.Now()
	if s := first.call(t, "POST", "/api/v1/users/"+victim.ID+"/revoke_tokens", adminTok, map[string]any{}); s != http.StatusOK && s != http.StatusNoContent {
		t.Fatalf("revoke: %d", s)
	}
	t.Logf("after reconnecting: refused after %v", refusedWithin(t, second, start, time.Second, "GET", "/api/v1/me", tok))

	// A change no notification announces (written behind the product's
	// back, as a lost notification would leave it): the version check.
	victim = c.user(tenancy.Staff)
	tok = c.token(victim)
	time.Sleep(time.Millisecond)
	if s := second.call(t, "GET", "/api/v1/me", tok, nil); s != http.StatusOK {
		t.Fatalf("before the silent change: %d", s)
	}
	start = time.Now()
	if _, err := c.db.SQL().ExecContext(ctx, `UPDATE users SET tokens_valid_after = $1 WHERE id = $2`, time.Now().UTC(), victim.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.db.SQL().ExecContext(ctx, `UPDATE auth_state SET version = version + 1`); err != nil {
		t.Fatal(err)
	}
	took = refusedWithin(t, second, start, interval+200*time.Millisecond, "GET", "/api/v1/me", tok)
	t.Logf("unannounced change: refused after %v (safety net %v)", took, interval)
}
