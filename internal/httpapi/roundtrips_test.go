package httpapi_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
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

// discardEvents stands in for the buffered event writer, whose batches are
// not on the request path.
type discardEvents struct{}

func (discardEvents) Record(context.Context, string, events.Type, any) {}

// TestRoundTripsPerRequest counts the statements each request sends to the
// database, on either engine: GET /api/v1/me (a user's or an operator's)
// and OFREP single and bulk take none, with a login token or an SDK key, once
// the state they need is in memory. The same requests before the auth
// state is served from memory take more (the counter sees them).
func TestRoundTripsPerRequest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url, opts := storetest.NewMigratedDatabase(t)
	var count atomic.Int64
	opts.CountStatements = &count
	db, err := store.Open(ctx, url, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	// The safety net's version check runs on its own clock and would be
	// counted with whichever request it fell beside: put off past the
	// test, it leaves the counter to the requests (changes made in this
	// process reach the state at once, without it).
	a := &auth.Service{DB: db, Secret: []byte("test-secret-test-secret-test-secret!"), CheckInterval: time.Hour}
	fl := flags.New(db, flags.Options{Log: log})
	srv := &httpapi.Server{DB: db, Auth: a, Events: discardEvents{}, Metrics: metrics.New(), Log: log, Flags: fl}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)

	r, err := db.CreateRestaurant(ctx, "Alpha", "AA")
	if err != nil {
		t.Fatal(err)
	}
	tctx := tenancy.WithTenant(ctx, r.ID)
	u, err := db.CreateUser(tctx, tenancy.User{Email: "s@aa.test", Role: tenancy.Staff, PasswordHash: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateFeatureFlag(tctx, store.FeatureFlag{Key: "rollout", Enabled: true, Percentage: intp(50)}); err != nil {
		t.Fatal(err)
	}
	_, key, err := a.CreateSDKKey(tctx, "count")
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := a.Issue(u)
	if err != nil {
		t.Fatal(err)
	}
	op, err := db.UpsertSuperAdmin(ctx, "op@platform.test", "Op", "x")
	if err != nil {
		t.Fatal(err)
	}
	optok, _, err := a.Issue(op)
	if err != nil {
		t.Fatal(err)
	}
	statements := func(path, cred string) int64 {
		t.Helper()
		method, body := "GET", ""
		if strings.HasPrefix(path, "/ofrep") {
			method, body = "POST", `{"context":{"targetingKey":"user-1"}}`
		}
		req, _ := http.NewRequest(method, hs.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+cred)
		req.Header.Set("Content-Type", "application/json")
		before := count.Load()
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d", path, res.StatusCode)
		}
		return count.Load() - before
	}
	cases := []struct {
		path, cred, what string
		max              int64
	}{
		{"/api/v1/me", tok, "GET /api/v1/me", 0},
		{"/api/v1/me", optok, "GET /api/v1/me as an operator", 0},
		{"/ofrep/v1/evaluate/flags/rollout", tok, "OFREP single with a token", 0},
		{"/ofrep/v1/evaluate/flags", tok, "OFREP bulk with a token", 0},
		{"/ofrep/v1/evaluate/flags/rollout", key, "OFREP single with an SDK key", 0},
		{"/ofrep/v1/evaluate/flags", key, "OFREP bulk with an SDK key", 0},
	}
	// Not yet served from memory: every request reads its token state.
	for _, c := range cases {
		statements(c.path, c.cred) // the flags warm up
		if n := statements(c.path, c.cred); n <= c.max {
			t.Errorf("%s answered from the database: %d statements, want more than %d (is the counter counting?)", c.what, n, c.max)
		}
	}
	a.Start(ctx)
	t.Cleanup(a.Close)
	<-a.Ready()
	for _, c := range cases {
		// The auth state warms up: the user, then the logged-out tokens.
		statements(c.path, c.cred)
		statements(c.path, c.cred)
		// The last use of an SDK key is written in the background, at
		// most once per key every few seconds, and can fall within one
		// request's window; a statement the request itself makes shows in
		// every try.
		least := int64(-1)
		for range 5 {
			if n := statements(c.path, c.cred); least < 0 || n < least {
				least = n
			}
		}
		if least > c.max {
			t.Errorf("%s: %d statements in each of 5 tries, want at most %d", c.what, least, c.max)
		}
	}
}
