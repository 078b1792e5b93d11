package analytics_test

import (
	"context"
	"testing"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/analytics"
	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// ensureOrders makes sure an orders table exists: the installed one, or one
// with the columns of the order schema that analytics reads.
func ensureOrders(t *testing.T, db *store.DB) {
	t.Helper()
	ctx := context.Background()
	var n int
	if err := db.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM orders`).Scan(&n); err != nil {
		if _, err := db.SQL().ExecContext(ctx, `CREATE TABLE orders (restaurant_id TEXT NOT NULL, id TEXT NOT NULL, number TEXT NOT NULL,
			order_type TEXT NOT NULL, status TEXT NOT NULL, subtotal_cents BIGINT NOT NULL, discount_cents BIGINT NOT NULL,
			total_amount_cents BIGINT NOT NULL, created_at TIMESTAMP NOT NULL, updated_at TIMESTAMP NOT NULL, PRIMARY KEY (restaurant_id, id))`); err != nil {
			t.Fatal(err)
		}
	}
}

func addOrder(t *testing.T, db *store.DB, rid, number string, cents int64, at time.Time) {
	t.Helper()
	if _, err := db.SQL().ExecContext(context.Background(), `INSERT INTO orders (restaurant_id, id, number, order_type, status, subtotal_cents, discount_cents,
		total_amount_cents, created_at, updated_at) VALUES ($1, $2, $3, 'takeout', 'completed', $4, 0, $4, $5, $5)`,
		rid, store.NewID(), number, cents, at); err != nil {
		t.Fatal(err)
	}
}

// TestDashboardHandComputed checks every figure of the advanced dashboard
// against values worked out by hand from the events and orders written.
func TestDashboardHandComputed(t *testing.T) {
	t.Parallel()
	db, a, b := setup(t)
	ctx := context.Background()
	// A: 20 requests, one an hour back from now (12:30), taking 10, 20, …,
	// 200 ms; the 2nd and 3rd answered 500; every third (i = 0, 3, …, 18)
	// on /a, the other 13 on /b. Plus one older than 24 h, and B's traffic.
	var evs []store.TenantEvent
	for i := 0; i < 20; i++ {
		status, route := 200, "/b"
		if i == 1 || i == 2 {
			status = 500
		}
		if i%3 == 0 {
			route = "/a"
		}
		evs = append(evs, ev(a.ID, "api_request", now.Add(-time.Duration(i)*time.Hour),
			map[string]any{"duration_ms": (i + 1) * 10, "status": status, "route": route, "method": "GET"}))
	}
	evs = append(evs, ev(a.ID, "api_request", now.Add(-30*time.Hour), map[string]any{"duration_ms": 5000, "status": 200, "route": "/old", "method": "GET"}))
	evs = append(evs, ev(b.ID, "api_request", now, map[string]any{"duration_ms": 9999, "status": 500, "route": "/b", "method": "GET"}))
	if err := db.InsertEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	ensureOrders(t, db)
	addOrder(t, db, a.ID, "A-1", 1200, now.AddDate(0, 0, -1))
	addOrder(t, db, a.ID, "A-2", 300, now.AddDate(0, 0, -1).Add(time.Hour))
	addOrder(t, db, a.ID, "A-3", 500, now)
	addOrder(t, db, a.ID, "A-4", 7000, now.AddDate(0, 0, -40))
	addOrder(t, db, b.ID, "B-1", 99999, now)

	d, err := (&analytics.Service{DB: db}).Dashboard(tenancy.WithTenant(ctx, a.ID))
	if err != nil {
		t.Fatal(err)
	}
	// The 24-hour window: the current hour and the 24 before it.
	if len(d.Requests) != 25 || len(d.ErrorRate) != 25 {
		t.Fatalf("hourly series: %d and %d points, want 25", len(d.Requests), len(d.ErrorRate))
	}
	if last := d.Requests[24]; !last.At.Equal(time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)) || last.Value != 1 {
		t.Errorf("current hour: %+v", last)
	}
	var sum float64
	for _, p := range d.Requests {
		sum += p.Value
	}
	if sum != 20 {
		t.Errorf("requests in the series: %v, want 20", sum)
	}
	for _, p := range d.ErrorRate {
		want := 0.0
		if p.At.Hour() == 11 || p.At.Hour() == 10 {
			want = 100
		}
		if p.Value != want {
			t.Errorf("error rate at %s: %v, want %v", p.At, p.Value, want)
		}
	}
	// Rank 0.95·20 = 19 falls in the (100, 250] ms bucket, which holds the
	// 11th to 20th of 10…200 ms: 100 + 150·(19-10)/10 = 235 ms, as
	// histogram_quantile would read it.
	if d.P95MS != 235 || d.Requests24h != 20 {
		t.Errorf("p95 %v ms over %d requests, want 235 over 20", d.P95MS, d.Requests24h)
	}
	if len(d.TopRoutes) != 2 {
		t.Fatalf("top routes: %+v", d.TopRoutes)
	}
	if r := d.TopRoutes[0]; r.Route != "/b" || r.Method != "GET" || r.Requests != 13 || r.ServerErrors != 2 {
		t.Errorf("busiest route: %+v", r)
	}
	if r := d.TopRoutes[1]; r.Route != "/a" || r.Requests != 7 || r.ServerErrors != 0 || r.MeanMS != 100 {
		t.Errorf("second route: %+v", r)
	}
	if len(d.Orders) != analytics.DashboardDays || len(d.RevenueCents) != analytics.DashboardDays {
		t.Fatalf("daily series: %d, %d points", len(d.Orders), len(d.RevenueCents))
	}
	if o, r := d.Orders[29], d.RevenueCents[29]; !o.At.Equal(time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)) || o.Value != 1 || r.Value != 500 {
		t.Errorf("today: %+v %+v", o, r)
	}
	if o, r := d.Orders[28], d.RevenueCents[28]; o.Value != 2 || r.Value != 1500 {
		t.Errorf("yesterday: %+v %+v", o, r)
	}
	var orders float64
	for _, p := range d.Orders {
		orders += p.Value
	}
	if orders != 3 {
		t.Errorf("orders in 30 days: %v, want 3", orders)
	}
	if len(d.Recent) != 20 || !d.Recent[0].CreatedAt.Equal(now) || d.Recent[0].RestaurantID != a.ID {
		t.Errorf("recent events: %d, first %+v", len(d.Recent), d.Recent[0])
	}
}

// TestDashboardEmpty: a tenant with no traffic gets zero-filled series, not
// an error.
func TestDashboardEmpty(t *testing.T) {
	t.Parallel()
	db, a, _ := setup(t)
	d, err := (&analytics.Service{DB: db}).Dashboard(tenancy.WithTenant(context.Background(), a.ID))
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Requests) != 25 || d.P95MS != 0 || len(d.TopRoutes) != 0 || len(d.Recent) != 0 || len(d.Orders) != analytics.DashboardDays {
		t.Errorf("empty dashboard: %+v", d)
	}
}
