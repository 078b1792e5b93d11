package httpapi

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/shimizu-tech/ordersuite/internal/auth"
	"github.com/shimizu-tech/ordersuite/internal/events"
	"github.com/shimizu-tech/ordersuite/internal/metrics"
	"github.com/shimizu-tech/ordersuite/internal/storetest"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

type recorded struct {
	rid string
	t   events.Type
}

type memorySink struct {
	mu  sync.Mutex
	got []recorded
}

func (m *memorySink) Record(_ context.Context, rid string, t events.Type, _ any) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.got = append(m.got, recorded{rid, t})
}

// TestServerErrorRecordsErrorEvent: a 5xx answer in a tenant is an
// api_request and an error event, and counts in tenant_errors_total.
func TestServerErrorRecordsErrorEvent(t *testing.T) {
	t.Parallel()
	m := metrics.New()
	sink := &memorySink{}
	s := &Server{Events: events.Counting{Next: sink, Metrics: m}, Metrics: m, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	h := s.route(Route{Method: "GET", Pattern: "/boom", Handler: func(*Server, http.ResponseWriter, *http.Request) error {
		return errors.New("database on fire")
	}})
	// A public route has no tenant: nothing is recorded.
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/boom", nil))
	if len(sink.got) != 0 {
		t.Fatalf("request without a tenant recorded %+v", sink.got)
	}
	// The wrapper records once the tenant is known; simulate a resolved one.
	who := requestTenant{restaurantID: "r1", userID: "u1"}
	r := httptest.NewRequest("GET", "/boom", nil)
	s.recordTenantRequest(r.WithContext(tenancy.WithTenant(r.Context(), "r1")), Route{Method: "GET", Pattern: "/boom"}, nil, who, 500, 0)
	if len(sink.got) != 2 || sink.got[0].t != events.APIRequest || sink.got[1].t != events.Error {
		t.Fatalf("recorded %+v, want api_request then error", sink.got)
	}
	if got := testutil.ToFloat64(m.TenantErrors.WithLabelValues("r1", "server_error")); got != 1 {
		t.Errorf("tenant_errors_total = %v", got)
	}
	for _, p := range []string{"/health", "/ready", "/metrics", "/assets/app.css"} {
		if !untracked(p) {
			t.Errorf("%s is tracked", p)
		}
	}
	if untracked("/api/v1/healthy") {
		t.Error("/api/v1/healthy is untracked")
	}
}

// TestPanicRecordsErrorEvent: a handler that panics in a tenant still
// leaves its api_request (status 500) and error events.
func TestPanicRecordsErrorEvent(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t)
	ctx := context.Background()
	r, err := db.CreateRestaurant(ctx, "Panic Palace", "PP")
	if err != nil {
		t.Fatal(err)
	}
	u, err := db.CreateUser(tenancy.WithTenant(ctx, r.ID), tenancy.User{Email: "s@p.test", Role: tenancy.Staff, PasswordHash: "x"})
	if err != nil {
		t.Fatal(err)
	}
	au := &auth.Service{DB: db, Secret: []byte("test-secret-test-secret-test-secret!")}
	tok, _, err := au.Issue(u)
	if err != nil {
		t.Fatal(err)
	}
	m := metrics.New()
	sink := &memorySink{}
	s := &Server{DB: db, Auth: au, Events: events.Counting{Next: sink, Metrics: m}, Metrics: m, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	rt := Route{Method: "GET", Pattern: "/boom", Roles: anyRole, Handler: func(*Server, http.ResponseWriter, *http.Request) error { panic("bug") }}
	req := httptest.NewRequest("GET", "/boom", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	rec := httptest.NewRecorder()
	s.recoverPanics(s.route(rt)).ServeHTTP(rec, req)
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("status %d", rec.Code)
	}
	if len(sink.got) != 2 || sink.got[0].t != events.APIRequest || sink.got[1].t != events.Error || sink.got[0].rid != r.ID {
		t.Fatalf("recorded %+v, want api_request then error in %s", sink.got, r.ID)
	}
	if got := testutil.ToFloat64(m.TenantRequests.WithLabelValues(r.ID, "/boom", "GET", "500")); got != 1 {
		t.Errorf("tenant_requests_total{status=500} = %v", got)
	}
}
