package httpapi_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/auth"
	"github.com/shimizu-tech/ordersuite/internal/flags"
	"github.com/shimizu-tech/ordersuite/internal/httpapi"
	"github.com/shimizu-tech/ordersuite/internal/metrics"
	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/storetest"
)

// TestAPIKeyFromMemory: an installation API key is checked from the auth
// state in memory — no statement per request once warm, its last use
// written in batches rather than per request — and a key created or
// revoked by another process (the command line, with its own handle on the
// database) works, or stops working, within a second. Either engine: on
// SQLite the version check is what hears the other process.
func TestAPIKeyFromMemory(t *testing.T) {
	ctx := context.Background()
	url, opts := storetest.NewDatabase(t)
	var count atomic.Int64
	opts.CountStatements = &count
	db, err := store.Open(ctx, url, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	cli, err := store.Open(ctx, url, store.Options{}) // the command line's handle
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a := &auth.Service{DB: db, Secret: []byte("test-secret-test-secret-test-secret!"), Log: log}
	started := time.Now()
	a.Start(ctx)
	closed := false
	t.Cleanup(func() {
		if !closed {
			a.Close()
		}
	})
	<-a.Ready()
	srv := &httpapi.Server{DB: db, Auth: a, Events: discardEvents{}, Metrics: metrics.New(), Log: log, Flags: flags.New(db, flags.Options{Log: log})}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	// /api/v1/me refuses keys with 403 after authenticating them, so the
	// statements it sends are authentication's alone; 401 is a refused key.
	call := func(key string) (status int, statements int64) {
		t.Helper()
		req, _ := http.NewRequest("GET", hs.URL+"/api/v1/me", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		before := count.Load()
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode, count.Load() - before
	}
	newKey := func(name string) string {
		t.Helper()
		key, hash, err := auth.NewAPIKey()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cli.CreateAPIKey(ctx, name, hash); err != nil {
			t.Fatal(err)
		}
		return key
	}

	key := newKey("warm")
	if s, _ := call(key); s != http.StatusForbidden {
		t.Fatalf("a key just created by the command line: %d, want 403 (known, not allowed on /me)", s)
	}
	call(key)
	// The counter sees every statement of the server's handle, the
	// background ones too (the state check, the flags' refresh): a call
	// that met one is tried again. A statement on the request path shows
	// on every try.
	for range 5 {
		var s int
		var n int64
		for try := 0; try < 3; try++ {
			if s, n = call(key); s != http.StatusForbidden || n == 0 {
				break
			}
		}
		if s != http.StatusForbidden || n != 0 {
			t.Errorf("warm key: %d with %d statements (on three tries), want 403 with none", s, n)
		}
	}
	keys, err := cli.APIKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if time.Since(started) < 4*time.Second && keys[0].LastUsedAt != nil {
		t.Errorf("last use written on the request path: %v", keys[0].LastUsedAt)
	}

	var worst time.Duration
	for i := range 5 {
		name := "try-" + string(rune('a'+i))
		k := newKey(name)
		if s, _ := call(k); s != http.StatusForbidden {
			t.Fatalf("try %d before revocation: %d", i, s)
		}
		start := time.Now()
		if err := cli.RevokeAPIKey(ctx, name); err != nil {
			t.Fatal(err)
		}
		for {
			s, _ := call(k)
			if s == http.StatusUnauthorized {
				break
			}
			if time.Since(start) > time.Second {
				t.Fatalf("try %d: a key revoked by another process still accepted after %v", i, time.Since(start))
			}
			time.Sleep(5 * time.Millisecond)
		}
		worst = max(worst, time.Since(start))
	}
	t.Logf("a key revoked by another process was refused within %v at most (5 tries)", worst)

	a.Close() // writes the batched uses
	closed = true
	keys, err = cli.APIKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if k.LastUsedAt == nil {
			t.Errorf("key %s: last use never written", k.Name)
		}
	}
}

// TestAPIKeyRevocationReachesEveryInstance: on PostgreSQL, an API key
// revoked by the command line (its own handle on the database) is refused
// by all three instances within a second — their safety-net check an hour
// away, so the notification carries it. 20 tries.
func TestAPIKeyRevocationReachesEveryInstance(t *testing.T) {
	c := newCluster(t, 3, time.Hour)
	ctx := context.Background()
	var worst time.Duration
	for i := range 20 {
		key, hash, err := auth.NewAPIKey()
		if err != nil {
			t.Fatal(err)
		}
		name := store.NewID()
		if _, err := c.db.CreateAPIKey(ctx, name, hash); err != nil {
			t.Fatal(err)
		}
		for j, in := range c.instances {
			if s := in.call(t, "GET", "/api/v1/me", key, nil); s != http.StatusForbidden {
				t.Fatalf("try %d: instance %d before revocation: %d, want 403", i, j, s)
			}
		}
		start := time.Now()
		if err := c.db.RevokeAPIKey(ctx, name); err != nil {
			t.Fatal(err)
		}
		for j, in := range c.instances {
			for in.call(t, "GET", "/api/v1/me", key, nil) != http.StatusUnauthorized {
				if time.Since(start) > time.Second {
					t.Fatalf("try %d: instance %d still accepts the revoked key after %v", i, j, time.Since(start))
				}
				time.Sleep(2 * time.Millisecond)
			}
			worst = max(worst, time.Since(start))
		}
	}
	t.Logf("API key revocation refused on every instance within %v at most (20 tries)", worst)
}
