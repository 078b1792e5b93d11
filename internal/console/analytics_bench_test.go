package console_test

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/console"
	"github.com/shimizu-tech/ordersuite/internal/flags"
	"github.com/shimizu-tech/ordersuite/internal/storetest"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// BenchmarkAnalyticsPage times the advanced analytics page, served over
// HTTP to a signed-in admin, for a restaurant with BENCH_EVENTS events
// (default 1,000,000) in the current hour; then, over HTTP with an admin's
// token, health_metrics and the events listing (first page, and a page
// 900,000 events deep by cursor).
func BenchmarkAnalyticsPage(b *testing.B) {
	n := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("BENCH_EVENTS")); err == nil && v > 0 {
		n = v
	}
	e := newEnv(b)
	now := e.db.Now()
	load, rebuild := storetest.GenerateEvents(b, e.db, e.A.ID, n, now.Truncate(time.Hour), now)
	b.Logf("%s: %d events in the current hour loaded in %v, rollups rebuilt in %v", e.db.Engine, n, load.Round(time.Millisecond), rebuild.Round(time.Millisecond))
	on := true
	if _, err := e.flags.Set(tenancy.WithTenant(b.Context(), e.A.ID), console.AdvancedAnalyticsFlag, false, flags.Change{Enabled: &on}); err != nil {
		b.Fatal(err)
	}
	br := e.browser()
	br.login("admin@as.test")
	b.Run("advanced", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			p := br.get(tenantPath(e.A.ID, "/analytics"))
			if p.Status != 200 || !strings.Contains(p.Body, `id="advanced"`) {
				b.Fatalf("analytics page: %d", p.Status)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/op")
	})

	// The API, over HTTP with the admin's token: health_metrics, and the
	// events listing's first page and a page 900,000 events deep (by cursor).
	resp, err := http.Post(e.srv.URL+"/login", "application/json", strings.NewReader(`{"email":"admin@as.test","password":"`+password+`"}`))
	if err != nil {
		b.Fatal(err)
	}
	var login struct {
		JWT string `json:"jwt"`
	}
	err = json.NewDecoder(resp.Body).Decode(&login)
	resp.Body.Close()
	if err != nil || login.JWT == "" {
		b.Fatalf("login: %v", err)
	}
	api := func(b *testing.B, path string) {
		req, _ := http.NewRequest("GET", e.srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+login.JWT)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("%s: %d", path, resp.StatusCode)
		}
	}
	var at time.Time
	var id string
	if err := e.db.SQL().QueryRowContext(b.Context(), `SELECT created_at, id FROM tenant_events WHERE restaurant_id = $1
		ORDER BY created_at DESC, id DESC LIMIT 1 OFFSET $2`, e.A.ID, n*9/10).Scan(&at, &id); err != nil {
		b.Fatal(err)
	}
	deep := url.QueryEscape(base64.RawURLEncoding.EncodeToString([]byte(at.UTC().Format(time.RFC3339Nano) + "|" + id)))
	for _, c := range []struct{ name, path string }{
		{"health_metrics_api", "/admin/tenant_metrics/" + e.A.ID + "/health_metrics"},
		{"events_api_first_page", "/admin/tenant_metrics/" + e.A.ID + "/events?event_type=api_request"},
		{"events_api_deep_page", "/admin/tenant_metrics/" + e.A.ID + "/events?event_type=api_request&cursor=" + deep},
	} {
		b.Run(c.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				api(b, c.path)
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/op")
		})
	}
}
