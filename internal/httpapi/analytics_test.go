package httpapi_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/shimizu-tech/ordersuite/internal/analytics"
	"github.com/shimizu-tech/ordersuite/internal/events"
	"github.com/shimizu-tech/ordersuite/internal/httpapi"
	"github.com/shimizu-tech/ordersuite/internal/metrics"
	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

func (e *env) insertEvents(evs ...store.TenantEvent) {
	e.t.Helper()
	if err := e.db.InsertEvents(context.Background(), evs); err != nil {
		e.t.Fatal(err)
	}
}

func apiEvent(rid string, at time.Time, ms, status int) store.TenantEvent {
	b, _ := json.Marshal(map[string]any{"path": "/x", "method": "GET", "duration_ms": ms, "status": status})
	return store.TenantEvent{RestaurantID: rid, Type: "api_request", Data: b, CreatedAt: at}
}

func typedEvent(rid, typ string, at time.Time, data map[string]any) store.TenantEvent {
	b, _ := json.Marshal(data)
	return store.TenantEvent{RestaurantID: rid, Type: typ, Data: b, CreatedAt: at}
}

// TestUsageStatsHandComputed seeds both tenants on past days (so the
// requests of the test itself, recorded today, stay out of the range) and
// checks every figure; an admin of A gets A's figures only, whatever id.
func TestUsageStatsHandComputed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	today := time.Now().UTC().Truncate(24 * time.Hour)
	d := func(days int, hour int) time.Time {
		return today.AddDate(0, 0, -days).Add(time.Duration(hour) * time.Hour)
	}
	A, B := e.A.R.ID, e.B.R.ID
	e.insertEvents(
		apiEvent(A, d(5, 10), 120, 200), apiEvent(A, d(5, 11), 80, 500), apiEvent(A, d(3, 9), 40, 201),
		apiEvent(A, d(9, 9), 999, 200), // outside the range asked below
		typedEvent(A, "error", d(5, 11), map[string]any{"error_type": "server_error"}),
		typedEvent(A, "user_login", d(5, 8), map[string]any{"user_id": e.A.Users[tenancy.Admin].ID}),
		typedEvent(A, "user_login", d(4, 8), map[string]any{"user_id": e.A.Users[tenancy.Admin].ID}),
		typedEvent(A, "user_login", d(3, 8), map[string]any{"user_id": e.A.Users[tenancy.Staff].ID}),
		apiEvent(B, d(5, 10), 5000, 500), apiEvent(B, d(4, 10), 5000, 500),
		typedEvent(B, "user_login", d(4, 8), map[string]any{"user_id": e.B.Users[tenancy.Admin].ID}),
	)
	q := fmt.Sprintf("?start_date=%s&end_date=%s", d(6, 0).Format(time.DateOnly), d(2, 0).Format(time.DateOnly))
	type usage struct {
		Orders struct {
			Count int64 `json:"count"`
		} `json:"orders"`
		Users struct {
			Active int64 `json:"active_count"`
			Total  int64 `json:"total_count"`
		} `json:"users"`
		API struct {
			Count int64   `json:"count"`
			Avg   float64 `json:"average_duration_ms"`
		} `json:"api_requests"`
		Errors struct {
			Count int64 `json:"count"`
		} `json:"errors"`
	}
	res := e.do("GET", "/admin/tenant_metrics/"+A+"/usage_stats"+q, e.tokenFor(tenancy.Admin, e.A), nil)
	if res.Status != http.StatusOK {
		t.Fatalf("%d %s", res.Status, res.Body)
	}
	u := decode[usage](t, res)
	// 3 requests (120 + 80 + 40 ms), 1 error event, 2 distinct users who
	// logged in, 3 users in the tenant.
	if u.API.Count != 3 || u.API.Avg != 80 || u.Errors.Count != 1 || u.Users.Active != 2 || u.Users.Total != 3 || u.Orders.Count != 0 {
		t.Errorf("tenant A usage: %+v", u)
	}
	// The operator asking about B gets B's own figures.
	res = e.do("GET", "/admin/tenant_metrics/"+B+"/usage_stats"+q, e.tokenFor(tenancy.SuperAdmin, e.B), nil)
	if u := decode[usage](t, res); res.Status != 200 || u.API.Count != 2 || u.API.Avg != 5000 || u.Users.Active != 1 {
		t.Errorf("tenant B usage: %d %s", res.Status, res.Body)
	}
	// An admin of A naming B is told B does not exist.
	if res := e.do("GET", "/admin/tenant_metrics/"+B+"/usage_stats"+q, e.tokenFor(tenancy.Admin, e.A), nil); res.Status != http.StatusNotFound {
		t.Errorf("admin of A reading B: %d %s", res.Status, res.Body)
	}
	for _, bad := range []string{"?start_date=yesterday", "?end_date=2026-13-01", "?start_date=2026-01-10&end_date=2026-01-01", "?start_date=1900-01-01"} {
		res := e.do("GET", "/admin/tenant_metrics/"+A+"/usage_stats"+bad, e.tokenFor(tenancy.Admin, e.A), nil)
		if res.Status != http.StatusBadRequest || !strings.Contains(string(res.Body), "_date") {
			t.Errorf("%s: %d %s, want 400 naming the field", bad, res.Status, res.Body)
		}
	}
	// The comparison puts both side by side.
	res = e.do("GET", "/admin/tenant_metrics/tenant_comparison"+q+"&restaurant_ids[]="+A+"&restaurant_ids[]="+B, e.tokenFor(tenancy.SuperAdmin, e.A), nil)
	cmp := decode[struct {
		Tenants []struct {
			ID    string `json:"restaurant_id"`
			Usage usage  `json:"usage"`
		} `json:"tenants"`
	}](t, res)
	if res.Status != 200 || len(cmp.Tenants) != 2 || cmp.Tenants[0].ID != A || cmp.Tenants[0].Usage.API.Count != 3 || cmp.Tenants[1].Usage.API.Count != 2 {
		t.Errorf("comparison: %d %s", res.Status, res.Body)
	}
	if res := e.do("GET", "/admin/tenant_metrics/tenant_comparison?restaurant_ids[]="+store.NewID(), e.tokenFor(tenancy.SuperAdmin, e.A), nil); res.Status != http.StatusNotFound {
		t.Errorf("comparison of an unknown id: %d", res.Status)
	}
	if res := e.do("GET", "/admin/tenant_metrics/tenant_comparison?restaurant_ids[]=x", e.tokenFor(tenancy.SuperAdmin, e.A), nil); res.Status != http.StatusBadRequest {
		t.Errorf("comparison of a malformed id: %d", res.Status)
	}
	res = e.do("GET", "/admin/tenant_metrics/all_tenants"+q, e.tokenFor(tenancy.SuperAdmin, e.A), nil)
	if res.Status != 200 || !strings.Contains(string(res.Body), A) || !strings.Contains(string(res.Body), B) {
		t.Errorf("all_tenants: %d %s", res.Status, res.Body)
	}
}

// TestTenantEventsEndpoint pages through a tenant's events by cursor: every
// matching event comes once, newest first, events of one instant included;
// the old page=1 still reads the first page and a later page number is
// refused naming the cursor.
func TestTenantEventsEndpoint(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	A := e.A.R.ID
	base := time.Now().UTC().Add(-72 * time.Hour).Truncate(time.Second)
	var evs []store.TenantEvent
	for i := 0; i < 7; i++ {
		evs = append(evs, apiEvent(A, base.Add(time.Duration(i)*time.Minute), i, 200))
	}
	// Three more requests at the instant of the first: the cursor's id
	// breaks the tie.
	for i := 0; i < 3; i++ {
		evs = append(evs, apiEvent(A, base, 100+i, 200))
	}
	evs = append(evs, typedEvent(A, "security_alert", base, map[string]any{"alert": "x"}), apiEvent(e.B.R.ID, base, 1, 200))
	e.insertEvents(evs...)
	tok := e.tokenFor(tenancy.Admin, e.A)
	type eventsPage struct {
		Events     []store.TenantEvent `json:"events"`
		Total      int                 `json:"total"`
		PerPage    int                 `json:"per_page"`
		NextCursor string              `json:"next_cursor"`
	}
	q := "?event_type=api_request&end_date=" + url.QueryEscape(base.Add(time.Hour).Format(time.RFC3339)) + "&per_page=3"
	var got []store.TenantEvent
	seen := map[string]bool{}
	cursor, pages := "", 0
	for {
		u := "/admin/tenant_metrics/" + A + "/events" + q
		if cursor != "" {
			u += "&cursor=" + url.QueryEscape(cursor)
		}
		res := e.do("GET", u, tok, nil)
		page := decode[eventsPage](t, res)
		if res.Status != 200 || page.Total != 10 || page.PerPage != 3 {
			t.Fatalf("page %d: %d %s", pages+1, res.Status, res.Body)
		}
		for _, ev := range page.Events {
			if seen[ev.ID] || ev.RestaurantID != A || ev.Type != "api_request" {
				t.Fatalf("page %d lists %+v again or from elsewhere", pages+1, ev)
			}
			seen[ev.ID] = true
		}
		got = append(got, page.Events...)
		pages++
		if page.NextCursor == "" {
			break
		}
		if len(page.Events) != 3 || pages > 4 {
			t.Fatalf("page %d: %d events with a next cursor", pages, len(page.Events))
		}
		cursor = page.NextCursor
	}
	if len(got) != 10 || pages != 4 {
		t.Fatalf("%d events in %d pages, want 10 in 4", len(got), pages)
	}
	for i := 1; i < len(got); i++ {
		a, b := got[i-1], got[i]
		if a.CreatedAt.Before(b.CreatedAt) || (a.CreatedAt.Equal(b.CreatedAt) && a.ID < b.ID) {
			t.Fatalf("not newest first at %d: %v %s then %v %s", i, a.CreatedAt, a.ID, b.CreatedAt, b.ID)
		}
	}
	if !got[0].CreatedAt.Equal(base.Add(6 * time.Minute)) {
		t.Errorf("first event at %v, want the newest", got[0].CreatedAt)
	}
	// page=1 is the first page, as before cursors.
	res := e.do("GET", "/admin/tenant_metrics/"+A+"/events"+q+"&page=1", tok, nil)
	if p := decode[eventsPage](t, res); res.Status != 200 || len(p.Events) != 3 || p.Events[0].ID != got[0].ID || p.NextCursor == "" {
		t.Errorf("page=1: %d %s", res.Status, res.Body)
	}
	for bad, field := range map[string]string{"?event_type=nope": "event_type", "?per_page=1000": "per_page", "?start_date=soon": "start_date",
		"?page=0": "page", "?page=2": "cursor", "?cursor=nope": "cursor", "?cursor=" + base64.RawURLEncoding.EncodeToString([]byte("yesterday|x")): "cursor"} {
		res := e.do("GET", "/admin/tenant_metrics/"+A+"/events"+bad, tok, nil)
		if res.Status != http.StatusBadRequest || !strings.Contains(string(res.Body), field) {
			t.Errorf("%s: %d %s, want 400 naming %s", bad, res.Status, res.Body, field)
		}
	}
}

// TestRequestEvents: tenant requests are recorded with their figures;
// requests without a tenant, probes and failed logins are not.
func TestRequestEvents(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.A.Users[tenancy.Admin]
	if res := e.do("GET", "/api/v1/me", e.token(admin), nil); res.Status != 200 {
		t.Fatal(res.Status)
	}
	e.do("GET", "/api/v1/users/"+store.NewID(), e.token(admin), nil) // 404, still a request of A
	e.do("GET", "/api/v1/restaurants", e.token(e.super), nil)        // no tenant
	e.do("GET", "/health", "", nil)
	e.do("POST", "/login", "", map[string]any{"email": admin.Email, "password": "wrong"})
	list, err := e.db.EventsOfType(tenancy.WithTenant(context.Background(), e.A.R.ID), "api_request", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 {
		t.Fatalf("%d api_request events in A, want 2: %+v", len(list), list)
	}
	var first map[string]any
	_ = json.Unmarshal(list[1].Data, &first)
	if first["path"] != "/api/v1/me" || first["method"] != "GET" || first["status"] != 200.0 || first["user_id"] != admin.ID || first["duration_ms"] == nil {
		t.Errorf("event data: %s", list[1].Data)
	}
	if page, _ := e.db.Events(tenancy.WithTenant(context.Background(), e.B.R.ID), store.EventFilter{}, 1); page.Total != 0 {
		t.Errorf("%d events in B", page.Total)
	}
	if got := testutil.ToFloat64(e.metrics.TenantRequests.WithLabelValues(e.A.R.ID, "/api/v1/users/{id}", "GET", "404")); got != 1 {
		t.Errorf("tenant_requests_total for the route pattern = %v, want 1", got)
	}
	if n := testutil.CollectAndCount(e.metrics.TenantRequests); n != 2 {
		t.Errorf("%d tenant_requests_total series, want 2", n)
	}
}

// TestFailedLoginBurst: the Nth failure for one address raises one
// security_alert in the tenant that owns it.
func TestFailedLoginBurst(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := &httpapi.Server{DB: e.db, Auth: e.auth, Events: events.StoreSink{DB: e.db, Log: log}, Metrics: e.metrics, Log: log,
		Analytics: &analytics.Service{DB: e.db}, LoginBursts: &analytics.LoginBursts{DB: e.db, Threshold: 3, Window: time.Minute}}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	staff := e.A.Users[tenancy.Staff]
	for i := 0; i < 7; i++ {
		resp, err := http.Post(ts.URL+"/login", "application/json", strings.NewReader(`{"email":"`+staff.Email+`","password":"nope"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	alerts, err := e.db.EventsOfType(tenancy.WithTenant(context.Background(), e.A.R.ID), "security_alert", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(alerts) != 2 || !strings.Contains(string(alerts[0].Data), "failed_login_burst") || !strings.Contains(string(alerts[0].Data), staff.ID) {
		t.Fatalf("7 failures with threshold 3: %d alerts %+v, want 2", len(alerts), alerts)
	}
	if got := testutil.ToFloat64(e.metrics.FailedLoginBursts.WithLabelValues(e.A.R.ID)); got != 2 {
		t.Errorf("tenant_failed_login_bursts_total = %v", got)
	}
	if list, _ := e.db.EventsOfType(tenancy.WithTenant(context.Background(), e.B.R.ID), "security_alert", 10); len(list) != 0 {
		t.Errorf("tenant B alerted: %+v", list)
	}
}

// TestLoadNoEventLost runs concurrent clients against a server with the
// buffered sink: below capacity every request served is one stored event;
// above it (writer held up) stored + dropped == served.
func TestLoadNoEventLost(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name     string
		capacity int
		block    bool
	}{{"below capacity", 100000, false}, {"above capacity", 20, true}} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			m := metrics.New()
			log := slog.New(slog.NewTextHandler(io.Discard, nil))
			buf := events.NewBuffer(e.db, m, log, events.BufferOptions{Capacity: c.capacity, BatchSize: 100, FlushInterval: 5 * time.Millisecond})
			buf.Start()
			srv := &httpapi.Server{DB: e.db, Auth: e.auth, Events: events.Counting{Next: buf, Metrics: m}, Metrics: m, Log: log, Analytics: &analytics.Service{DB: e.db}}
			ts := httptest.NewServer(srv.Handler())
			defer ts.Close()
			var unlock func()
			if c.block {
				unlock = blockEventWrites(t, e.db)
			}
			tok := e.tokenFor(tenancy.Staff, e.A)
			var served atomic.Int64
			var wg sync.WaitGroup
			client := ts.Client()
			for w := 0; w < 8; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < 50; i++ {
						req, _ := http.NewRequest("GET", ts.URL+"/api/v1/me", nil)
						req.Header.Set("Authorization", "Bearer "+tok)
						resp, err := client.Do(req)
						if err != nil {
							t.Error(err)
							return
						}
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						if resp.StatusCode == 200 {
							served.Add(1)
						}
					}
				}()
			}
			wg.Wait()
			if unlock != nil {
				unlock()
			}
			if err := buf.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			page, err := e.db.Events(tenancy.WithTenant(context.Background(), e.A.R.ID), store.EventFilter{Type: "api_request"}, 100000)
			if err != nil {
				t.Fatal(err)
			}
			list, stored := page.Events, page.Total
			if len(list) != stored {
				t.Fatalf("%d rows stored, listing total %d", len(list), stored)
			}
			dropped := int(testutil.ToFloat64(m.EventsDropped.WithLabelValues("buffer_full")))
			t.Logf("served %d, stored %d, dropped %d", served.Load(), stored, dropped)
			if served.Load() != 400 {
				t.Fatalf("served %d of 400", served.Load())
			}
			if !c.block && (stored != 400 || dropped != 0) {
				t.Errorf("below capacity: stored %d, dropped %d, want 400 and 0", stored, dropped)
			}
			if c.block && (dropped == 0 || stored+dropped != 400) {
				t.Errorf("above capacity: stored %d + dropped %d, want 400 with drops", stored, dropped)
			}
		})
	}
}

// blockEventWrites holds a lock that makes event writes wait.
func blockEventWrites(t *testing.T, db *store.DB) func() {
	t.Helper()
	ctx := context.Background()
	tx, err := db.SQL().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if db.Engine == store.Postgres {
		if _, err := tx.ExecContext(ctx, `LOCK TABLE tenant_events IN EXCLUSIVE MODE`); err != nil {
			t.Fatal(err)
		}
	} else if _, err := tx.ExecContext(ctx, `DELETE FROM tenant_events WHERE 1 = 0`); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	unlock := func() { once.Do(func() { _ = tx.Rollback() }) }
	t.Cleanup(unlock)
	return unlock
}

// TestServerErrorEvent breaks the audit log table under a real server: the
// 500 answer becomes an api_request with status 500 and an error event.
func TestServerErrorEvent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if _, err := e.db.SQL().Exec(`DROP TABLE audit_log`); err != nil {
		t.Fatal(err)
	}
	if res := e.do("GET", "/admin/audit_log", e.tokenFor(tenancy.Admin, e.A), nil); res.Status != http.StatusInternalServerError {
		t.Fatalf("%d %s", res.Status, res.Body)
	}
	ctx := tenancy.WithTenant(context.Background(), e.A.R.ID)
	errs, _ := e.db.EventsOfType(ctx, "error", 10)
	reqs, _ := e.db.EventsOfType(ctx, "api_request", 10)
	if len(errs) != 1 || len(reqs) != 1 {
		t.Fatalf("%d error and %d api_request events, want 1 and 1", len(errs), len(reqs))
	}
	var data map[string]any
	if err := json.Unmarshal(reqs[0].Data, &data); err != nil || data["status"] != 500.0 {
		t.Fatalf("api_request %s", reqs[0].Data)
	}
	st, err := e.db.EventStats(ctx, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	if err != nil || st.ServerErrors != 1 {
		t.Errorf("5xx in the rollups: %+v %v", st, err)
	}
}
