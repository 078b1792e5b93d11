package analytics_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/analytics"
	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/storetest"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

var now = time.Date(2026, 11, 20, 12, 30, 0, 0, time.UTC)

func ev(rid, typ string, at time.Time, data map[string]any) store.TenantEvent {
	b, _ := json.Marshal(data)
	return store.TenantEvent{RestaurantID: rid, Type: typ, Data: b, CreatedAt: at}
}

func req(rid string, ago time.Duration, ms, status int) store.TenantEvent {
	return ev(rid, "api_request", now.Add(-ago), map[string]any{"duration_ms": ms, "status": status})
}

func setup(t *testing.T) (*store.DB, tenancy.Restaurant, tenancy.Restaurant) {
	t.Helper()
	db := storetest.OpenWithClock(t, func() time.Time { return now })
	a, err := db.CreateRestaurant(context.Background(), "A", "AA")
	if err != nil {
		t.Fatal(err)
	}
	b, err := db.CreateRestaurant(context.Background(), "B", "BB")
	if err != nil {
		t.Fatal(err)
	}
	return db, a, b
}

func TestHealthHandComputed(t *testing.T) {
	t.Parallel()
	db, a, b := setup(t)
	A, B := a.ID, b.ID
	var evs []store.TenantEvent
	// A, last hour: 4 requests of 200, 400, 600, 800 ms (mean 500: not above
	// the warning line). Earlier in the day: 96 fast requests, 3 of them 5xx:
	// error rate 3/100 = 3 % → warning.
	for i, ms := range []int{200, 400, 600, 800} {
		evs = append(evs, req(A, time.Duration(10+i)*time.Minute, ms, 200))
	}
	for i := 0; i < 96; i++ {
		status := 200
		if i < 3 {
			status = 502
		}
		evs = append(evs, req(A, 2*time.Hour+time.Duration(i)*10*time.Minute, 10, status))
	}
	evs = append(evs, req(A, 25*time.Hour, 5000, 500)) // older than 24 h
	// B: one slow request in the last hour → critical.
	evs = append(evs, req(B, 5*time.Minute, 1500, 200))
	if err := db.InsertEvents(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	svc := &analytics.Service{DB: db, Started: now.Add(-90 * time.Second)}
	h, err := svc.HealthMetrics(tenancy.WithTenant(context.Background(), A))
	if err != nil {
		t.Fatal(err)
	}
	if h.Requests24h != 100 || h.ServerErrors != 3 || h.ErrorRate != 3 || h.Requests1h != 4 || h.ResponseTime != 500 ||
		h.Status != analytics.Warning || h.UptimeSeconds != 90 {
		t.Errorf("A: %+v", h)
	}
	if h.ResourceUsage.Rows["tenant_events"] != 101 || h.ResourceUsage.DatabaseSizeBytes <= 0 {
		t.Errorf("A resources: %+v", h.ResourceUsage)
	}
	hb, err := svc.HealthMetrics(tenancy.WithTenant(context.Background(), B))
	if err != nil {
		t.Fatal(err)
	}
	if hb.Status != analytics.Critical || hb.ResponseTime != 1500 || hb.ErrorRate != 0 || hb.ResourceUsage.Rows["tenant_events"] != 1 {
		t.Errorf("B: %+v", hb)
	}
	o, err := svc.Overview(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if o.TenantCount != 2 || o.Requests24h != 101 || o.Errors24h != 3 || len(o.WithIssues) != 2 {
		t.Errorf("overview: %+v", o)
	}
}

func TestStatusThresholds(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		rate, ms float64
		want     string
	}{
		{0, 0, analytics.Healthy}, {2, 500, analytics.Healthy}, {2.01, 0, analytics.Warning}, {0, 501, analytics.Warning},
		{5, 1000, analytics.Warning}, {5.5, 0, analytics.Critical}, {0, 1001, analytics.Critical}, {3, 2000, analytics.Critical},
	} {
		if got := analytics.StatusOf(c.rate, c.ms); got != c.want {
			t.Errorf("StatusOf(%v %%, %v ms) = %s, want %s", c.rate, c.ms, got, c.want)
		}
	}
}

// TestUsageWithOrders checks the order figures against the orders table:
// the installed one, or else one with the columns of the order schema that
// analytics and this test use.
func TestUsageWithOrders(t *testing.T) {
	t.Parallel()
	db, a, b := setup(t)
	ctx := context.Background()
	var n int
	if err := db.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM orders`).Scan(&n); err != nil {
		if _, err := db.SQL().ExecContext(ctx, `CREATE TABLE orders (restaurant_id TEXT NOT NULL, id TEXT NOT NULL, number TEXT NOT NULL,
			order_type TEXT NOT NULL, status TEXT NOT NULL, subtotal_cents BIGINT NOT NULL, discount_cents BIGINT NOT NULL,
			total_amount_cents BIGINT NOT NULL, created_at TIMESTAMP NOT NULL, updated_at TIMESTAMP NOT NULL, PRIMARY KEY (restaurant_id, id))`); err != nil {
			t.Fatal(err)
		}
	}
	for i, o := range []struct {
		rid   string
		cents int64
		at    time.Time
	}{
		{a.ID, 1200, now.AddDate(0, 0, -1)}, {a.ID, 800, now.AddDate(0, 0, -29)}, {a.ID, 5000, now.AddDate(0, 0, -40)},
		{b.ID, 99999, now.AddDate(0, 0, -1)},
	} {
		if _, err := db.SQL().ExecContext(ctx, `INSERT INTO orders (restaurant_id, id, number, order_type, status, subtotal_cents, discount_cents,
			total_amount_cents, created_at, updated_at) VALUES ($1, $2, $3, 'takeout', 'completed', $4, 0, $4, $5, $5)`,
			o.rid, store.NewID(), "T-O-"+string(rune('0'+i)), o.cents, o.at); err != nil {
			t.Fatal(err)
		}
	}
	svc := &analytics.Service{DB: db}
	start, end := analytics.DefaultRange(now)
	u, err := svc.UsageStats(tenancy.WithTenant(ctx, a.ID), start, end)
	if err != nil {
		t.Fatal(err)
	}
	if u.Orders.Count != 2 || u.Orders.TotalAmountCents != 2000 || u.StartDate != "2026-10-21" || u.EndDate != "2026-11-20" {
		t.Errorf("orders: %+v", u)
	}
}

func TestLoginBursts(t *testing.T) {
	t.Parallel()
	clock := now
	db := storetest.OpenWithClock(t, func() time.Time { return clock })
	b := &analytics.LoginBursts{DB: db, Threshold: 3, Window: time.Minute}
	// A second instance on the same database counts with the first.
	other := &analytics.LoginBursts{DB: db, Threshold: 3, Window: time.Minute}
	fire := func(lb *analytics.LoginBursts, email string, after time.Duration) bool {
		t.Helper()
		clock = clock.Add(after)
		got, _, err := lb.Failed(context.Background(), email, "192.0.2.1")
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	if fire(b, "a@x", 0) || fire(other, "A@X ", time.Second) {
		t.Fatal("burst before the threshold")
	}
	if fire(b, "b@x", time.Second) {
		t.Fatal("another address counted together")
	}
	if !fire(other, "a@x", time.Second) {
		t.Fatal("third failure in the window, on another instance, is no burst")
	}
	if fire(b, "a@x", time.Second) || fire(b, "a@x", time.Second) || !fire(b, "a@x", time.Second) {
		t.Fatal("a burst fires once per threshold failures")
	}
	// Failures spread wider than the window never make a burst.
	for i := 0; i < 10; i++ {
		if fire(b, "c@x", 31*time.Second) {
			t.Fatal("spread failures made a burst")
		}
	}
	// Retention forgets failures older than a day.
	clock = clock.Add(25 * time.Hour)
	r := &analytics.Retention{DB: db, MaxAge: 90 * 24 * time.Hour}
	if _, err := r.Prune(context.Background()); err != nil {
		t.Fatal(err)
	}
	var left int
	if err := db.SQL().QueryRow(`SELECT COUNT(*) FROM login_failures`).Scan(&left); err != nil || left != 0 {
		t.Errorf("%d failed logins left after a day (%v)", left, err)
	}
}

// TestPruneOneInstanceAtATime: retention deletes old events only, and on
// PostgreSQL a second instance backs off while the first holds the lock.
func TestPruneOneInstanceAtATime(t *testing.T) {
	t.Parallel()
	db, a, _ := setup(t)
	evs := []store.TenantEvent{req(a.ID, 100*24*time.Hour, 1, 200), req(a.ID, 95*24*time.Hour, 1, 200), req(a.ID, time.Hour, 1, 200)}
	if err := db.InsertEvents(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	r := &analytics.Retention{DB: db, MaxAge: 90 * 24 * time.Hour}
	if db.Engine == store.Postgres {
		held := make(chan struct{})
		release := make(chan struct{})
		done := make(chan error)
		go func() {
			done <- db.WithInstanceLock(context.Background(), 0x74656e616e745f65, func(context.Context) error {
				close(held)
				<-release
				return nil
			})
		}()
		<-held
		if _, err := r.Prune(context.Background()); !errors.Is(err, store.ErrLockHeld) {
			t.Errorf("prune while another instance holds the lock: %v", err)
		}
		close(release)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	n, err := r.Prune(context.Background())
	if err != nil || n != 2 {
		t.Fatalf("pruned %d (%v), want 2", n, err)
	}
	st, err := db.EventStats(tenancy.WithTenant(context.Background(), a.ID), now.AddDate(0, 0, -120), now)
	if err != nil || st.Counts["api_request"] != 3 {
		t.Errorf("usage after pruning: %+v %v, want 3 requests still counted", st, err)
	}
}
