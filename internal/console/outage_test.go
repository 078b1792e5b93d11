package console_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/shimizu-tech/ordersuite/internal/analytics"
	"github.com/shimizu-tech/ordersuite/internal/auth"
	"github.com/shimizu-tech/ordersuite/internal/console"
	"github.com/shimizu-tech/ordersuite/internal/events"
	"github.com/shimizu-tech/ordersuite/internal/flags"
	"github.com/shimizu-tech/ordersuite/internal/httpapi"
	"github.com/shimizu-tech/ordersuite/internal/metrics"
	"github.com/shimizu-tech/ordersuite/internal/storetest"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// TestConsoleShowsDatabaseUnavailable cuts the database under a signed-in
// operator: the console answers 503 with a page that says the database is
// unavailable and reloads itself (not an error page, not the sign-in
// form), and once the database is back the same session sees its pages.
func TestConsoleShowsDatabaseUnavailable(t *testing.T) {
	t.Parallel()
	direct, db, proxy := storetest.OpenBehindProxy(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	m := metrics.New()
	authn := &auth.Service{DB: db, Secret: []byte("test-secret-test-secret-test-secret!")}
	fl := flags.New(db, flags.Options{Log: log})
	sink := events.StoreSink{DB: db, Log: log}
	srv := &httpapi.Server{DB: db, Auth: authn, Events: sink, Metrics: m, Log: log, Flags: fl, Analytics: &analytics.Service{DB: db}}
	srv.Console = (&console.Console{DB: db, Auth: authn, Flags: fl, Analytics: srv.Analytics, Events: sink, Metrics: m, Log: log}).Handler()
	e := &env{t: t, db: direct, metrics: m, admin: map[string]tenancy.User{}, staff: map[string]tenancy.User{}}
	e.srv = httptest.NewServer(srv.Handler())
	t.Cleanup(e.srv.Close)
	hash, err := auth.HashPassword(password)
	if err != nil {
		t.Fatal(err)
	}
	if e.super, err = direct.UpsertSuperAdmin(context.Background(), "root@platform.test", "Root", hash); err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	b.login("root@platform.test")
	if p := b.get("/console/"); p.Status != http.StatusOK {
		t.Fatalf("console home before the cut: %d", p.Status)
	}

	proxy.Cut()
	for _, path := range []string{"/console/", "/console/login"} {
		req, _ := http.NewRequest("GET", e.srv.URL+path, nil)
		resp, err := b.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		page := string(body)
		if path == "/console/login" {
			// The sign-in form needs no database; signing in does.
			if resp.StatusCode != http.StatusOK {
				t.Errorf("%s during the cut: %d", path, resp.StatusCode)
			}
			continue
		}
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
			t.Errorf("%s during the cut: %d, Retry-After %q", path, resp.StatusCode, resp.Header.Get("Retry-After"))
		}
		if !strings.Contains(page, "Database unavailable, retrying") || !strings.Contains(page, `http-equiv="refresh"`) {
			t.Errorf("%s during the cut is not the retrying page:\n%s", path, page)
		}
		if strings.Contains(page, "Something went wrong") {
			t.Errorf("%s during the cut shows an error page", path)
		}
	}
	if n := testutil.ToFloat64(m.DBUnavailable.WithLabelValues("console")); n == 0 {
		t.Error("the refused page is not counted in db_unavailable_total")
	}

	if err := proxy.Restore(); err != nil {
		t.Fatal(err)
	}
	if p := b.get("/console/"); p.Status != http.StatusOK {
		t.Fatalf("console home after the restore: %d", p.Status)
	}
}
