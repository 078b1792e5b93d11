package httpapi

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/auth"
	"github.com/shimizu-tech/ordersuite/internal/events"
	"github.com/shimizu-tech/ordersuite/internal/flags"
	"github.com/shimizu-tech/ordersuite/internal/metrics"
	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/storetest"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

type noEvents struct{}

func (noEvents) Record(context.Context, string, events.Type, any) {}

// BenchmarkAuthMiddleware measures what authentication adds to a request,
// with token and key state served from memory: the OFREP single route
// through the full route wrapper with an SDK key ("on"), against the same
// route wrapper and handler given the principal and tenant up front ("off").
// Rounds alternate so that load from other work falls on both alike; it
// reports each mode's requests/s and the ratio on/off.
//
// The off arm has no authenticated caller for the route wrapper, so it
// records no tenant request; "auth" skips the tenant request middleware in
// both arms (BenchmarkTenantMiddleware measures it), so the ratio is what
// authentication and tenant resolution cost; "auth_and_tenant_requests"
// charges that middleware to the on arm as well.
func BenchmarkAuthMiddleware(b *testing.B) {
	b.Run("auth", func(b *testing.B) { benchmarkAuthMiddleware(b, true) })
	b.Run("auth_and_tenant_requests", func(b *testing.B) { benchmarkAuthMiddleware(b, false) })
}

func benchmarkAuthMiddleware(b *testing.B, skipTenantRequests bool) {
	ctx := context.Background()
	db := storetest.Open(b)
	log := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelWarn}))
	a := &auth.Service{DB: db, Secret: []byte("bench-secret-bench-secret-bench-secret")}
	a.Start(ctx)
	b.Cleanup(a.Close)
	<-a.Ready()
	r, err := db.CreateRestaurant(ctx, "Alpha", "AA")
	if err != nil {
		b.Fatal(err)
	}
	tctx := tenancy.WithTenant(ctx, r.ID)
	pct := 50
	if _, err := db.CreateFeatureFlag(tctx, store.FeatureFlag{Key: "rollout", Enabled: true, Percentage: &pct}); err != nil {
		b.Fatal(err)
	}
	_, key, err := a.CreateSDKKey(tctx, "bench")
	if err != nil {
		b.Fatal(err)
	}
	s := &Server{DB: db, Auth: a, Events: noEvents{}, Metrics: metrics.New(), Log: log, Flags: flags.New(db, flags.Options{Log: log}),
		SkipTenantRequests: skipTenantRequests}
	var single Route
	for _, rt := range Routes() {
		if rt.Method == "POST" && rt.Pattern == "/ofrep/v1/evaluate/flags/{key}" {
			single = rt
		}
	}
	p := tenancy.Principal{UserID: store.NewID(), RestaurantID: r.ID, Role: tenancy.Customer, Status: tenancy.Active}
	preAuthed := single
	preAuthed.Roles = nil // public: the wrapper authenticates nothing
	preAuthed.Handler = func(s *Server, w http.ResponseWriter, req *http.Request) error {
		ctx := tenancy.WithTenant(tenancy.WithPrincipal(req.Context(), p), r.ID)
		return single.Handler(s, w, req.WithContext(ctx))
	}
	mux := func(rt Route) http.Handler {
		m := http.NewServeMux()
		m.Handle(rt.Method+" "+rt.Pattern, s.route(rt))
		return m
	}
	on, off := mux(single), mux(preAuthed)
	const perRound = 500
	var spent [2]time.Duration
	round := func(i int, h http.Handler) {
		start := time.Now()
		for range perRound {
			req := httptest.NewRequest("POST", "/ofrep/v1/evaluate/flags/rollout", strings.NewReader(`{"context":{"targetingKey":"user-1"}}`))
			req.Header.Set("X-API-Key", key)
			req.Header.Set("Content-Type", "application/json")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != http.StatusOK {
				b.Fatalf("%d %s", w.Code, w.Body)
			}
		}
		spent[i] += time.Since(start)
	}
	round(0, on)
	round(1, off)
	spent = [2]time.Duration{}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%2 == 0 {
			round(0, on)
			round(1, off)
		} else {
			round(1, off)
			round(0, on)
		}
	}
	b.StopTimer()
	onRate := float64(b.N*perRound) / spent[0].Seconds()
	offRate := float64(b.N*perRound) / spent[1].Seconds()
	b.ReportMetric(onRate, "on-req/s")
	b.ReportMetric(offRate, "off-req/s")
	b.ReportMetric(onRate/offRate, "ratio")
}
