package analytics_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/analytics"
	"github.com/shimizu-tech/ordersuite/internal/money"
	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/storetest"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// traffic is random tenant traffic as the server records it: requests with
// every status class (a 5xx answer also records an error event, as the
// middleware does), logins, orders, payments, other errors and alerts,
// spread over the last 30 hours up to now, the current hour included.
func traffic(r *rand.Rand, rid string, now time.Time, n int) []store.TenantEvent {
	routes := []string{"/api/v1/orders", "/api/v1/orders/{id}", "/api/v1/menu_items", "/login"}
	statuses := []int{200, 200, 200, 201, 204, 302, 400, 404, 409, 500, 502, 503}
	var out []store.TenantEvent
	for len(out) < n {
		at := now.Add(-time.Duration(r.Int64N(int64(30 * time.Hour))))
		if r.IntN(3) == 0 { // a third in the current hour
			at = now.Truncate(time.Hour).Add(time.Duration(r.Int64N(int64(now.Sub(now.Truncate(time.Hour)) + 1))))
		}
		switch k := r.IntN(10); {
		case k < 6:
			status := statuses[r.IntN(len(statuses))]
			ms := r.IntN(30)
			if r.IntN(4) == 0 {
				ms = r.IntN(12000)
			}
			out = append(out, ev(rid, "api_request", at, map[string]any{"path": "/x", "route": routes[r.IntN(len(routes))],
				"method": []string{"GET", "POST"}[r.IntN(2)], "duration_ms": ms, "status": status, "user_id": fmt.Sprint("u", r.IntN(5))}))
			if status >= 500 {
				out = append(out, ev(rid, "error", at, map[string]any{"error_type": "server_error", "status": status}))
			}
		case k < 7:
			out = append(out, ev(rid, "user_login", at, map[string]any{"user_id": fmt.Sprint("u", r.IntN(7))}))
		case k < 8:
			out = append(out, ev(rid, "order_created", at, map[string]any{"order_id": store.NewID(), "total_amount_cents": r.IntN(5000)}))
		case k < 9:
			out = append(out, ev(rid, "payment_processed", at, map[string]any{"amount_cents": r.IntN(5000), "payment_method": "card"}))
		default:
			out = append(out, ev(rid, []string{"error", "security_alert"}[r.IntN(2)], at, map[string]any{"error_type": "payment_declined", "status": 500}))
		}
	}
	return out
}

// writeLive writes the events as the event writers of two instances do:
// random batches, concurrently, through two connections to one database.
func writeLive(t *testing.T, dbs []*store.DB, r *rand.Rand, evs []store.TenantEvent) {
	t.Helper()
	var batches [][]store.TenantEvent
	for len(evs) > 0 {
		n := min(len(evs), 1+r.IntN(60))
		batches = append(batches, evs[:n])
		evs = evs[n:]
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(batches))
	for i, b := range batches {
		wg.Add(1)
		go func(db *store.DB) {
			defer wg.Done()
			errs <- db.InsertEvents(context.Background(), b)
		}(dbs[i%len(dbs)])
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// raw, pct and meanOf are the independent SQL and arithmetic of
// storetest, which the figures are held to.
var (
	raw    = storetest.Raw
	pct    = storetest.Pct
	meanOf = storetest.Mean
)

// checkPercentile holds a percentile read from the rollups to what the raw
// durations say: histogram_quantile's interpolation inside the bucket that
// holds the ceil(q·n)-th smallest duration (0 without requests).
func checkPercentile(t *testing.T, name string, got float64, durations []int64, q float64) {
	t.Helper()
	if want := storetest.Percentile(durations, q); got != want {
		t.Errorf("%s = %v, want %v (from %d raw durations)", name, got, want, len(durations))
	}
}

// TestFiguresMatchRawSQL is the promise that figures have one definition:
// for random traffic (5xx included), every figure health_metrics,
// usage_stats, tenant_comparison, the overview and the dashboard report
// equals plain SQL over the raw events of the same window, in the current
// hour and in closed hours; and rebuilding the rollups from the raw log
// gives back, row for row, what the live writers kept.
func TestFiguresMatchRawSQL(t *testing.T) {
	t.Parallel()
	for seed := uint64(1); seed <= 4; seed++ {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 12))
			now := time.Date(2026, 11, 20, 12, r.IntN(60), r.IntN(60), 0, time.UTC)
			clock := func() time.Time { return now }
			url, opts := storetest.NewMigratedDatabase(t)
			opts.Now = clock
			var dbs []*store.DB
			for i := 0; i < 2; i++ {
				db, err := store.Open(context.Background(), url, opts)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { db.Close() })
				dbs = append(dbs, db)
			}
			db := dbs[0]
			ctx := context.Background()
			var rids []string
			for i := 0; i < 2; i++ {
				rest, err := db.CreateRestaurant(ctx, fmt.Sprint("R", i), fmt.Sprint("R", i))
				if err != nil {
					t.Fatal(err)
				}
				rids = append(rids, rest.ID)
				writeLive(t, dbs, r, traffic(r, rest.ID, now, storetest.Scaled(400+r.IntN(400))))
				for j := 0; j < 5+r.IntN(10); j++ {
					addOrder(t, db, rest.ID, fmt.Sprint("O-", j), int64(r.IntN(9000)), now.Add(-time.Duration(r.Int64N(int64(40*24*time.Hour)))))
				}
			}
			svc := &analytics.Service{DB: db}
			dayFrom := now.Add(-24 * time.Hour).Truncate(time.Hour)
			hourFrom := now.Add(-time.Hour).Truncate(time.Hour)
			end := now.Add(time.Microsecond)
			current := now.Truncate(time.Hour)
			for _, rid := range rids {
				tctx := tenancy.WithTenant(ctx, rid)
				h, err := svc.HealthMetrics(tctx)
				if err != nil {
					t.Fatal(err)
				}
				d24, d1 := raw(t, db, rid, dayFrom, end), raw(t, db, rid, hourFrom, end)
				if h.Requests24h != d24.Requests || h.ServerErrors != d24.ServerErrors || h.ErrorRate != pct(d24.ServerErrors, d24.Requests) ||
					h.Requests1h != d1.Requests || h.ResponseTime != meanOf(d1.DurationSum, d1.Requests) {
					t.Errorf("health %+v; raw 24h %d req %d 5xx, 1h %d req %d ms", h, d24.Requests, d24.ServerErrors, d1.Requests, d1.DurationSum)
				}
				if want := analytics.StatusOf(pct(d24.ServerErrors, d24.Requests), meanOf(d1.DurationSum, d1.Requests)); h.Status != want {
					t.Errorf("health status %s, want %s", h.Status, want)
				}
				checkPercentile(t, "health p95", h.P95MS, d1.Durations, 0.95)
				checkPercentile(t, "health p99", h.P99MS, d1.Durations, 0.99)

				// The current hour alone, and closed hours alone.
				for _, w := range []struct {
					name     string
					from, to time.Time
				}{
					{"current hour", current, end},
					{"closed hours", current.Add(-5 * time.Hour), current},
				} {
					st, err := db.EventStats(tctx, w.from, w.to)
					if err != nil {
						t.Fatal(err)
					}
					rw := raw(t, db, rid, w.from, w.to)
					if analytics.Requests(st) != rw.Requests || analytics.ServerErrors(st) != rw.ServerErrors ||
						analytics.ErrorRate(st) != pct(rw.ServerErrors, rw.Requests) || analytics.MeanDurationMS(st) != meanOf(rw.DurationSum, rw.Requests) ||
						st.Counts["error"] != rw.ErrorEvents {
						t.Errorf("%s: %+v, raw %+v", w.name, st, rw)
					}
					checkPercentile(t, w.name+" p95", analytics.DurationPercentileMS(st, 0.95), rw.Durations, 0.95)
				}

				// Usage over days: today (the current hour in it) and closed days.
				for _, days := range [][2]int{{0, 0}, {-1, 0}, {-2, -1}, {-40, 0}} {
					start, stop := analytics.Day(now).AddDate(0, 0, days[0]), analytics.Day(now).AddDate(0, 0, days[1])
					u, err := svc.UsageStats(tctx, start, stop)
					if err != nil {
						t.Fatal(err)
					}
					to := stop.AddDate(0, 0, 1)
					rw := raw(t, db, rid, start, to)
					var orders, cents, active, users int64
					var sum sql.NullInt64
					if err := db.SQL().QueryRowContext(ctx, `SELECT COUNT(*), SUM(total_amount_cents) FROM orders WHERE restaurant_id = $1
						AND created_at >= $2 AND created_at < $3`, rid, start, to).Scan(&orders, &sum); err != nil {
						t.Fatal(err)
					}
					cents = sum.Int64
					var loginUser string
					if db.Engine == store.Postgres {
						loginUser = `event_data->>'user_id'`
					} else {
						loginUser = `json_extract(event_data, '$.user_id')`
					}
					if err := db.SQL().QueryRowContext(ctx, `SELECT COUNT(DISTINCT `+loginUser+`) FROM tenant_events WHERE restaurant_id = $1
						AND event_type = 'user_login' AND created_at >= $2 AND created_at < $3`, rid, start, to).Scan(&active); err != nil {
						t.Fatal(err)
					}
					if err := db.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE restaurant_id = $1`, rid).Scan(&users); err != nil {
						t.Fatal(err)
					}
					if u.APIRequests.Count != rw.Requests || u.APIRequests.AverageDurationMS != meanOf(rw.DurationSum, rw.Requests) ||
						u.APIRequests.ServerErrors != rw.ServerErrors || u.APIRequests.ErrorRate != pct(rw.ServerErrors, rw.Requests) ||
						u.Errors.Count != rw.ErrorEvents || u.Orders.Count != orders || u.Orders.TotalAmountCents != cents ||
						u.Users.ActiveCount != active || u.Users.TotalCount != users ||
						u.Orders.Currency != "USD" || u.Orders.TotalAmount != money.Format(cents, "USD") {
						t.Errorf("usage %v..%v: %+v; raw %+v, orders %d/%d, active %d, users %d", start, stop, u, rw, orders, cents, active, users)
					}
					checkPercentile(t, "usage p95", u.APIRequests.P95MS, rw.Durations, 0.95)
				}

				dash, err := svc.Dashboard(tctx)
				if err != nil {
					t.Fatal(err)
				}
				if dash.Requests24h != d24.Requests {
					t.Errorf("dashboard requests %d, raw %d", dash.Requests24h, d24.Requests)
				}
				checkPercentile(t, "dashboard p95", dash.P95MS, d24.Durations, 0.95)
				for _, p := range dash.ErrorRate {
					rw := raw(t, db, rid, p.At, p.At.Add(time.Hour))
					if p.Value != pct(rw.ServerErrors, rw.Requests) {
						t.Errorf("error rate at %s: %v, raw %d of %d", p.At, p.Value, rw.ServerErrors, rw.Requests)
					}
				}
			}

			// The comparison, every figure of every tenant, for today (the
			// current hour in it) and for two closed days.
			for _, days := range [][2]int{{0, 0}, {-2, -1}} {
				start, stop := analytics.Day(now).AddDate(0, 0, days[0]), analytics.Day(now).AddDate(0, 0, days[1])
				cmp, err := svc.Tenants(ctx, rids, start, stop, true)
				if err != nil {
					t.Fatal(err)
				}
				for i, rid := range rids {
					c, rw := cmp[i], raw(t, db, rid, start, stop.AddDate(0, 0, 1))
					d24, d1 := raw(t, db, rid, dayFrom, end), raw(t, db, rid, hourFrom, end)
					u := c.Usage
					if c.RestaurantID != rid || u.APIRequests.Count != rw.Requests || u.APIRequests.AverageDurationMS != meanOf(rw.DurationSum, rw.Requests) ||
						u.APIRequests.ServerErrors != rw.ServerErrors || u.APIRequests.ErrorRate != pct(rw.ServerErrors, rw.Requests) ||
						u.Errors.Count != rw.ErrorEvents || u.Orders.Count != rw.Orders || u.Orders.TotalAmountCents != rw.RevenueCents ||
						u.Orders.TotalAmount != money.Format(rw.RevenueCents, "USD") || u.Users.ActiveCount != rw.ActiveUsers {
						t.Errorf("comparison %s %v..%v: %+v; raw %+v", rid, start, stop, u, rw)
					}
					checkPercentile(t, "comparison p95", u.APIRequests.P95MS, rw.Durations, 0.95)
					h := c.Health
					if h == nil || h.Requests24h != d24.Requests || h.ServerErrors != d24.ServerErrors || h.ErrorRate != pct(d24.ServerErrors, d24.Requests) ||
						h.Requests1h != d1.Requests || h.ResponseTime != meanOf(d1.DurationSum, d1.Requests) ||
						h.Status != analytics.StatusOf(pct(d24.ServerErrors, d24.Requests), meanOf(d1.DurationSum, d1.Requests)) {
						t.Errorf("comparison health %s: %+v; raw 24h %+v", rid, h, d24)
					}
				}
			}

			// The overview, over every tenant at once.
			o, err := svc.Overview(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var total24, errs24 int64
			for _, rid := range rids {
				d24 := raw(t, db, rid, dayFrom, end)
				total24 += d24.Requests
				errs24 += d24.ServerErrors
				for _, ts := range o.Tenants {
					if ts.RestaurantID == rid && (ts.Requests24h != d24.Requests || ts.ErrorRate != pct(d24.ServerErrors, d24.Requests)) {
						t.Errorf("overview %s: %+v, raw %+v", rid, ts, d24)
					}
				}
			}
			if o.Requests24h != total24 || o.Errors24h != errs24 {
				t.Errorf("overview totals %d/%d, raw %d/%d", o.Requests24h, o.Errors24h, total24, errs24)
			}

			// Rebuild from nothing = what the live writers kept.
			for _, rid := range rids {
				live := rollupRows(t, db, rid)
				for _, table := range []string{"tenant_event_rollups", "tenant_route_rollups", "tenant_daily_users"} {
					if _, err := db.SQL().ExecContext(ctx, `DELETE FROM `+table+` WHERE restaurant_id = $1`, rid); err != nil {
						t.Fatal(err)
					}
				}
				if err := db.RebuildEventRollups(tenancy.WithTenant(ctx, rid)); err != nil {
					t.Fatal(err)
				}
				rebuilt := rollupRows(t, db, rid)
				if len(live) == 0 || fmt.Sprint(live) != fmt.Sprint(rebuilt) {
					t.Errorf("rebuilt rollups differ from the live ones:\nlive    %v\nrebuilt %v", live, rebuilt)
				}
			}
		})
	}
}

// rollupRows reads a tenant's rollups, every column but the row id, in key
// order, as text.
func rollupRows(t *testing.T, db *store.DB, rid string) []string {
	t.Helper()
	var out []string
	for _, q := range []string{
		`SELECT * FROM tenant_event_rollups WHERE restaurant_id = $1 ORDER BY bucket, event_type`,
		`SELECT * FROM tenant_route_rollups WHERE restaurant_id = $1 ORDER BY bucket, method, route`,
		`SELECT * FROM tenant_daily_users WHERE restaurant_id = $1 ORDER BY day, user_id`,
	} {
		rows, err := db.SQL().QueryContext(context.Background(), q, rid)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			line := ""
			for i, c := range cols {
				if c == "id" {
					continue
				}
				v := vals[i]
				if tm, ok := v.(time.Time); ok {
					v = tm.UTC().Format(time.RFC3339)
				}
				if b, ok := v.([]byte); ok {
					v = string(b)
				}
				line += fmt.Sprintf("%s=%v ", c, v)
			}
			out = append(out, line)
		}
		rows.Close()
	}
	return out
}

// TestRebuildAfterBulkLoad: events loaded by SQL outside the writer (more
// than one page of the rebuild, times stored in the database's own text
// form) are counted exactly once by rebuild-rollups.
func TestRebuildAfterBulkLoad(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 20, 12, 50, 0, 0, time.UTC)
	db := storetest.OpenWithClock(t, func() time.Time { return now })
	rest, err := db.CreateRestaurant(context.Background(), "Bulk", "BK")
	if err != nil {
		t.Fatal(err)
	}
	n := storetest.Scaled(12_345)
	storetest.GenerateEvents(t, db, rest.ID, n, now.Add(-3*time.Hour), now)
	ctx := tenancy.WithTenant(context.Background(), rest.ID)
	st, err := db.EventStats(ctx, now.Add(-3*time.Hour), now.Add(time.Microsecond))
	if err != nil {
		t.Fatal(err)
	}
	rw := raw(t, db, rest.ID, now.Add(-3*time.Hour), now.Add(time.Microsecond))
	var total int64
	for _, c := range st.Counts {
		total += c
	}
	if total != int64(n) || analytics.Requests(st) != rw.Requests || analytics.ServerErrors(st) != rw.ServerErrors || st.DurationMSSum != rw.DurationSum {
		t.Errorf("rebuilt: %d events, %+v; raw %d requests, %d 5xx, %d ms", total, st, rw.Requests, rw.ServerErrors, rw.DurationSum)
	}
}
