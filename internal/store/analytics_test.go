package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/storetest"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

func at(s string) time.Time {
	t, err := time.Parse("2006-01-02 15:04:05", s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

func event(rid, typ, when string, data map[string]any) store.TenantEvent {
	b, _ := json.Marshal(data)
	return store.TenantEvent{RestaurantID: rid, Type: typ, Data: b, CreatedAt: at(when)}
}

func req(rid, when string, ms, status int) store.TenantEvent {
	return event(rid, "api_request", when, map[string]any{"path": "/api/v1/me", "method": "GET", "duration_ms": ms, "status": status, "user_id": "u"})
}

type seeded struct {
	db   *store.DB
	a, b tenancy.Restaurant
}

// seedEvents writes a small hand-made log for tenant A and noise for B, in
// several batches so rollups of one hour are merged across batches.
func seedEvents(t *testing.T) seeded {
	t.Helper()
	db := storetest.OpenWithClock(t, func() time.Time { return at("2026-11-20 12:30:00") })
	ctx := context.Background()
	a, err := db.CreateRestaurant(ctx, "A", "AA")
	if err != nil {
		t.Fatal(err)
	}
	b, err := db.CreateRestaurant(ctx, "B", "BB")
	if err != nil {
		t.Fatal(err)
	}
	A, B := a.ID, b.ID
	batches := [][]store.TenantEvent{
		{
			req(A, "2026-11-10 10:15:00", 100, 200),
			req(A, "2026-11-10 10:45:00", 300, 500),
			event(A, "user_login", "2026-11-10 09:00:00", map[string]any{"user_id": "u1"}),
			event(A, "user_login", "2026-11-10 18:00:00", map[string]any{"user_id": "u1"}),
			event(A, "error", "2026-11-10 10:45:00", map[string]any{"error_type": "server_error"}),
			req(B, "2026-11-10 10:20:00", 9000, 500),
		},
		{
			req(A, "2026-11-20 11:40:00", 50, 200),
			req(A, "2026-11-20 12:10:00", 150, 503),
			event(A, "user_login", "2026-11-20 08:00:00", map[string]any{"user_id": "u2"}),
			event(A, "error", "2026-11-20 12:10:00", map[string]any{"error_type": "server_error"}),
			req(B, "2026-11-20 12:11:00", 7000, 200),
			event(B, "user_login", "2026-11-20 08:00:00", map[string]any{"user_id": "b1"}),
		},
		{
			req(A, "2026-11-20 12:29:00", 40, 201),
			event(A, "user_login", "2026-11-20 09:00:00", map[string]any{"user_id": "u1"}),
			event(A, "security_alert", "2026-11-20 12:00:00", map[string]any{"alert": "x"}),
		},
	}
	for _, batch := range batches {
		if err := db.InsertEvents(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	return seeded{db: db, a: a, b: b}
}

func TestEventStatsHandComputed(t *testing.T) {
	t.Parallel()
	s := seedEvents(t)
	ctx := tenancy.WithTenant(context.Background(), s.a.ID)
	cases := []struct {
		name             string
		from, to         string
		requests, errors int64
		durationMS       int64
		serverErrors     int64
	}{
		// Whole days: all from rollups.
		{"whole range", "2026-11-10 00:00:00", "2026-11-21 00:00:00", 5, 2, 640, 2},
		{"first day", "2026-11-10 00:00:00", "2026-11-11 00:00:00", 2, 1, 400, 1},
		// Figures are whole hours: a range covers every hour it overlaps,
		// so the partial hours at either end count whole.
		{"inside an hour", "2026-11-20 11:50:00", "2026-11-20 12:20:00", 3, 1, 240, 1},
		{"ragged ends", "2026-11-10 10:30:00", "2026-11-20 12:15:00", 5, 2, 640, 2},
		{"last 24 h", "2026-11-19 12:30:00", "2026-11-20 12:30:01", 3, 1, 240, 1},
		{"empty", "2026-11-12 00:00:00", "2026-11-13 00:00:00", 0, 0, 0, 0},
		{"part of an hour", "2026-11-10 10:00:00", "2026-11-10 10:15:00", 2, 1, 400, 1},
		{"upper bound on the hour excluded", "2026-11-10 09:00:00", "2026-11-10 10:00:00", 0, 0, 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st, err := s.db.EventStats(ctx, at(c.from), at(c.to))
			if err != nil {
				t.Fatal(err)
			}
			if st.Counts["api_request"] != c.requests || st.Counts["error"] != c.errors || st.DurationMSSum != c.durationMS || st.ServerErrors != c.serverErrors {
				t.Errorf("got requests %d errors %d duration %d 5xx %d, want %d %d %d %d", st.Counts["api_request"], st.Counts["error"],
					st.DurationMSSum, st.ServerErrors, c.requests, c.errors, c.durationMS, c.serverErrors)
			}
		})
	}
	all, err := s.db.AllTenantsEventStats(context.Background(), at("2026-11-10 00:00:00"), at("2026-11-21 00:00:00"))
	if err != nil {
		t.Fatal(err)
	}
	if got := all[s.b.ID]; got.Counts["api_request"] != 2 || got.DurationMSSum != 16000 || got.ServerErrors != 1 {
		t.Errorf("tenant B overall: %+v", got)
	}
	if got := all[s.a.ID]; got.Counts["api_request"] != 5 || got.Counts["user_login"] != 4 || got.Counts["security_alert"] != 1 {
		t.Errorf("tenant A overall: %+v", got)
	}

	for _, c := range []struct {
		from, to string
		want     int64
	}{{"2026-11-10", "2026-11-20", 2}, {"2026-11-10", "2026-11-10", 1}, {"2026-11-20", "2026-11-20", 2}, {"2026-11-11", "2026-11-19", 0}} {
		if n, err := s.db.ActiveUsers(ctx, c.from, c.to); err != nil || n != c.want {
			t.Errorf("active users %s..%s = %d (%v), want %d", c.from, c.to, n, err, c.want)
		}
	}
}

// TestPruneKeepsUsageFigures: retention deletes raw events, never the
// rollups, and rebuilding rollups afterwards loses nothing.
func TestPruneKeepsUsageFigures(t *testing.T) {
	t.Parallel()
	s := seedEvents(t)
	ctx := tenancy.WithTenant(context.Background(), s.a.ID)
	before, err := s.db.EventStats(ctx, at("2026-11-01 00:00:00"), at("2026-11-21 00:00:00"))
	if err != nil {
		t.Fatal(err)
	}
	n, err := s.db.PruneEvents(context.Background(), at("2026-11-15 00:00:00"), 2)
	if err != nil {
		t.Fatal(err)
	}
	if n != 6 { // A: 5 events on 11-10, B: 1
		t.Errorf("pruned %d events, want 6", n)
	}
	page, err := s.db.Events(ctx, store.EventFilter{}, 100)
	if err != nil {
		t.Fatal(err)
	}
	if total, list := page.Total, page.Events; total != 7 || len(list) != 7 {
		t.Errorf("%d events left (listed %d), want 7", total, len(list))
	}
	rows, size, err := s.db.TenantStorage(ctx)
	if err != nil || rows["tenant_events"] != 7 || rows["users"] != 0 || size <= 0 {
		t.Errorf("storage after pruning: %v %d %v, want 7 events counted", rows, size, err)
	}
	if err := s.db.RebuildEventRollups(ctx); err != nil {
		t.Fatal(err)
	}
	after, err := s.db.EventStats(ctx, at("2026-11-01 00:00:00"), at("2026-11-21 00:00:00"))
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(before) != fmt.Sprint(after) {
		t.Errorf("usage changed by pruning and rebuild:\nbefore %+v\nafter  %+v", before, after)
	}
	if n, err := s.db.ActiveUsers(ctx, "2026-11-10", "2026-11-10"); err != nil || n != 1 {
		t.Errorf("active users of a pruned day = %d (%v), want 1", n, err)
	}
}

func TestEventsListing(t *testing.T) {
	t.Parallel()
	s := seedEvents(t)
	ctx := tenancy.WithTenant(context.Background(), s.a.ID)
	f := store.EventFilter{Type: "api_request", From: at("2026-11-20 00:00:00")}
	page, err := s.db.Events(ctx, f, 2)
	if err != nil {
		t.Fatal(err)
	}
	list, total := page.Events, page.Total
	if total != 3 || len(list) != 2 || !list[0].CreatedAt.Equal(at("2026-11-20 12:29:00")) || !list[1].CreatedAt.Equal(at("2026-11-20 12:10:00")) {
		t.Fatalf("page 1: total %d, %+v", total, list)
	}
	if page.Next != (store.EventCursor{At: list[1].CreatedAt, ID: list[1].ID}) {
		t.Fatalf("page 1's next cursor %+v, want the last event listed", page.Next)
	}
	f.After = page.Next
	page, err = s.db.Events(ctx, f, 2)
	if err != nil || len(page.Events) != 1 || !page.Events[0].CreatedAt.Equal(at("2026-11-20 11:40:00")) || page.Total != 3 {
		t.Fatalf("page 2: %+v %v", page, err)
	}
	if !page.Next.At.IsZero() {
		t.Fatalf("the last page has a next cursor %+v", page.Next)
	}
	list = append(list, page.Events...)
	for _, e := range list {
		if e.RestaurantID != s.a.ID {
			t.Fatalf("tenant A's listing holds %s's event", e.RestaurantID)
		}
	}
	page, err = s.db.Events(ctx, store.EventFilter{To: at("2026-11-10 10:45:00")}, 10)
	if err != nil || page.Total != 2 { // the 09:00 login and the 10:15 request
		t.Fatalf("before 10:45: %d %v", page.Total, err)
	}
	// Other types than requests are listed through their own index.
	page, err = s.db.Events(ctx, store.EventFilter{Type: "user_login"}, 10)
	if err != nil || len(page.Events) == 0 {
		t.Fatalf("logins: %+v %v", page, err)
	}
	for _, e := range page.Events {
		if e.Type != "user_login" || e.RestaurantID != s.a.ID {
			t.Fatalf("logins listed %+v", e)
		}
	}
}

// TestLargeBatch crosses the multi-row statement size on SQLite and checks
// every row and rollup arrives.
func TestLargeBatch(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t)
	ctx := context.Background()
	r, err := db.CreateRestaurant(ctx, "A", "AA")
	if err != nil {
		t.Fatal(err)
	}
	var batch []store.TenantEvent
	base := at("2026-11-20 00:00:00")
	for i := 0; i < 1234; i++ {
		e := req(r.ID, "2026-11-20 00:00:00", i%7, 200+(i%2)*300)
		e.CreatedAt = base.Add(time.Duration(i) * time.Minute)
		batch = append(batch, e)
	}
	if err := db.InsertEvents(ctx, batch); err != nil {
		t.Fatal(err)
	}
	tctx := tenancy.WithTenant(ctx, r.ID)
	st, err := db.EventStats(tctx, base, base.Add(30*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var dur int64
	for i := 0; i < 1234; i++ {
		dur += int64(i % 7)
	}
	if st.Counts["api_request"] != 1234 || st.DurationMSSum != dur || st.ServerErrors != 617 {
		t.Errorf("got %+v, want 1234 requests, %d ms, 617 errors", st, dur)
	}
}
