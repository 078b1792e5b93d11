package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/analytics"
	"github.com/shimizu-tech/ordersuite/internal/console"
	"github.com/shimizu-tech/ordersuite/internal/flags"
	"github.com/shimizu-tech/ordersuite/internal/money"
	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/storetest"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// seedRandom writes random traffic for a tenant as the server records it:
// requests of every status class (a 5xx answer also records an error
// event), logins, other errors, over the last 30 hours with a third in the
// current hour; and orders over the last 40 days.
func seedRandom(t *testing.T, e *env, r *rand.Rand, rid string, n int) {
	t.Helper()
	ctx := tenancy.WithTenant(context.Background(), rid)
	now := e.db.Now()
	hour := now.Truncate(time.Hour)
	statuses := []int{200, 200, 200, 201, 302, 400, 404, 500, 502, 503}
	var evs []store.TenantEvent
	add := func(typ string, at time.Time, data map[string]any) {
		b, _ := json.Marshal(data)
		evs = append(evs, store.TenantEvent{RestaurantID: rid, Type: typ, Data: b, CreatedAt: at})
	}
	for len(evs) < n {
		at := now.Add(-time.Duration(r.Int64N(int64(30 * time.Hour))))
		if r.IntN(3) == 0 {
			at = hour.Add(time.Duration(r.Int64N(int64(now.Sub(hour)) + 1)))
		}
		switch k := r.IntN(10); {
		case k < 7:
			status, ms := statuses[r.IntN(len(statuses))], r.IntN(40)
			if r.IntN(4) == 0 {
				ms = r.IntN(3000)
			}
			add("api_request", at, map[string]any{"path": "/x", "route": "/api/v1/orders", "method": "GET", "duration_ms": ms, "status": status})
			if status >= 500 {
				add("error", at, map[string]any{"error_type": "server_error", "status": status})
			}
		case k < 9:
			add("user_login", at, map[string]any{"user_id": fmt.Sprint("u", r.IntN(6))})
		default:
			add("error", at, map[string]any{"error_type": "payment_declined", "status": 500})
		}
	}
	if err := e.db.InsertEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5+r.IntN(10); i++ {
		at := now.Add(-time.Duration(r.Int64N(int64(40 * 24 * time.Hour))))
		if _, err := e.db.SQL().ExecContext(ctx, `INSERT INTO orders (restaurant_id, id, number, order_type, status, subtotal_cents,
			discount_cents, total_amount_cents, created_at, updated_at) VALUES ($1, $2, $3, 'takeout', 'completed', $4, 0, $4, $5, $5)`,
			rid, store.NewID(), fmt.Sprintf("O-%03d", i), r.IntN(9000), at); err != nil {
			t.Fatal(err)
		}
	}
}

var (
	tagText = regexp.MustCompile(`<[^>]*>`)
	spaces  = regexp.MustCompile(`\s+`)
)

// cardTexts reads the text of each card of the first list after marker.
func cardTexts(t *testing.T, body, marker string) []string {
	t.Helper()
	start := strings.Index(body, marker)
	if start < 0 {
		t.Fatalf("no %s on the page", marker)
	}
	list := body[start:]
	list = list[:strings.Index(list, "</ul>")]
	var out []string
	for _, c := range strings.Split(list, `<li class="card">`)[1:] {
		out = append(out, strings.TrimSpace(spaces.ReplaceAllString(html.UnescapeString(tagText.ReplaceAllString(c, "")), " ")))
	}
	return out
}

func f64(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// TestConsoleTilesMatchRawSQL: for random traffic with 5xx answers, in the
// current hour and in closed hours, every figure of the analytics page's
// tiles (health, usage over the last 30 days, the advanced traffic tiles)
// and of the operator's home (requests and server errors in 24 hours, each
// restaurant's row) equals plain SQL over the raw events and orders,
// revenue in the restaurant's currency.
func TestConsoleTilesMatchRawSQL(t *testing.T) {
	e := newEnv(t)
	r := rand.New(rand.NewPCG(7, 11))
	seedRandom(t, e, r, e.A.ID, 600+r.IntN(300))
	seedRandom(t, e, r, e.B.ID, 200+r.IntN(100))
	ctx := tenancy.WithTenant(context.Background(), e.A.ID)
	eur := "EUR"
	if _, err := e.db.UpdateRestaurant(ctx, store.RestaurantPatch{Currency: &eur}); err != nil {
		t.Fatal(err)
	}
	on := true
	if _, err := e.flags.Set(ctx, console.AdvancedAnalyticsFlag, false, flags.Change{Enabled: &on}); err != nil {
		t.Fatal(err)
	}
	admin := e.browser()
	admin.login("admin@as.test")
	operator := e.browser()
	operator.login("root@platform.test")

	for attempt := 0; ; attempt++ {
		// The figures of the state each page is rendered from: a page's
		// own request is recorded after it answers.
		now := e.db.Now()
		hourEnd := now.Truncate(time.Hour).Add(time.Hour)
		day, day1 := raw24(t, e, e.A.ID, now, hourEnd)
		start, end := analytics.DefaultRange(now)
		usage := storetest.Raw(t, e.db, e.A.ID, start, end.AddDate(0, 0, 1))
		var users int64
		if err := e.db.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE restaurant_id = $1`, e.A.ID).Scan(&users); err != nil {
			t.Fatal(err)
		}
		p := admin.get(tenantPath(e.A.ID, "/analytics"))
		if p.Status != 200 {
			t.Fatalf("analytics page: %d", p.Status)
		}
		dayB, hourB := raw24(t, e, e.B.ID, now, hourEnd)
		dayA, hourA := raw24(t, e, e.A.ID, now, hourEnd)
		home := operator.get("/console/")
		if e.db.Now().Truncate(time.Hour) != now.Truncate(time.Hour) && attempt < 3 {
			continue // the hour turned while reading: read again
		}

		rate, mean := storetest.Pct(day.ServerErrors, day.Requests), storetest.Mean(day1.DurationSum, day1.Requests)
		health := cardTexts(t, p.Body, `id="health"`)
		for i, want := range []string{
			string(analytics.StatusOf(rate, mean)) + " overall",
			fmt.Sprintf("%s %% error rate, 24 h (%d of %d requests)", f64(rate), day.ServerErrors, day.Requests),
			fmt.Sprintf("%s ms mean response, last hour (%d requests; p95 %s ms, p99 %s ms)", f64(mean), day1.Requests,
				f64(storetest.Percentile(day1.Durations, 0.95)), f64(storetest.Percentile(day1.Durations, 0.99))),
		} {
			if health[i] != want {
				t.Errorf("health tile %d reads %q, raw SQL says %q", i, health[i], want)
			}
		}
		u := cardTexts(t, p.Body, `id="usage"`)
		for i, want := range []string{
			fmt.Sprintf("%d orders", usage.Orders),
			fmt.Sprintf("%s revenue (EUR)", money.Format(usage.RevenueCents, "EUR")),
			fmt.Sprintf("%d / %d active / all users", usage.ActiveUsers, users),
			fmt.Sprintf("%d API requests (mean %s ms)", usage.Requests, f64(storetest.Mean(usage.DurationSum, usage.Requests))),
			fmt.Sprintf("%s %% answered 5xx (%d requests)", f64(storetest.Pct(usage.ServerErrors, usage.Requests)), usage.ServerErrors),
			fmt.Sprintf("%d error events", usage.ErrorEvents),
		} {
			if u[i] != want {
				t.Errorf("usage tile %d reads %q, raw SQL says %q", i, u[i], want)
			}
		}
		adv := cardTexts(t, p.Body, `id="advanced"`)
		for i, want := range []string{
			fmt.Sprintf("%d requests", day.Requests),
			fmt.Sprintf("%s ms 95th percentile response time (p99 %s ms)", f64(storetest.Percentile(day.Durations, 0.95)), f64(storetest.Percentile(day.Durations, 0.99))),
		} {
			if i >= len(adv) || adv[i] != want {
				t.Errorf("traffic tile %d reads %v, raw SQL says %q", i, adv, want)
			}
		}
		if !strings.HasPrefix(u[1], "€") {
			t.Errorf("revenue %q is not in euros", u[1])
		}

		tiles := cardTexts(t, home.Body, "<h1>Restaurants</h1>")
		for i, want := range map[int]string{
			1: fmt.Sprintf("%d API requests in 24 h", dayA.Requests+dayB.Requests),
			2: fmt.Sprintf("%d server errors in 24 h", dayA.ServerErrors+dayB.ServerErrors),
		} {
			if tiles[i] != want {
				t.Errorf("home tile %d reads %q, raw SQL says %q", i, tiles[i], want)
			}
		}
		for _, c := range []struct {
			name    string
			f, last storetest.RawFigures
		}{{"Alpha Sushi", dayA, hourA}, {"Beta Burgers", dayB, hourB}} {
			row := regexp.MustCompile(`(?s)<th scope="row">` + c.name + `</th>.*?</tr>`).FindString(home.Body)
			cells := spaces.ReplaceAllString(html.UnescapeString(tagText.ReplaceAllString(row, " ")), " ")
			rate := storetest.Pct(c.f.ServerErrors, c.f.Requests)
			want := fmt.Sprintf(" %s %d %s %% ", analytics.StatusOf(rate, storetest.Mean(c.last.DurationSum, c.last.Requests)), c.f.Requests, f64(rate))
			if !strings.Contains(cells, want) {
				t.Errorf("home row of %s reads %q, raw SQL says requests and error rate %q", c.name, cells, want)
			}
		}
		if day1.Requests == 0 || day.ServerErrors == 0 || day1.Requests == day.Requests {
			t.Fatalf("the traffic lacks current-hour requests, 5xx or closed hours: %+v / %+v", day, day1)
		}
		return
	}
}

// raw24 is a tenant's raw figures over the last 24 hours and the last hour,
// as health reads them: whole hours, the current one included.
func raw24(t *testing.T, e *env, rid string, now, hourEnd time.Time) (day, hour storetest.RawFigures) {
	t.Helper()
	return storetest.Raw(t, e.db, rid, now.Add(-24*time.Hour).Truncate(time.Hour), hourEnd),
		storetest.Raw(t, e.db, rid, now.Add(-time.Hour).Truncate(time.Hour), hourEnd)
}
