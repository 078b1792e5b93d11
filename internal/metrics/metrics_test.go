package metrics_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/shimizu-tech/ordersuite/internal/analytics"
	"github.com/shimizu-tech/ordersuite/internal/auth"
	"github.com/shimizu-tech/ordersuite/internal/events"
	"github.com/shimizu-tech/ordersuite/internal/httpapi"
	"github.com/shimizu-tech/ordersuite/internal/metrics"
	"github.com/shimizu-tech/ordersuite/internal/storetest"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

func init() { auth.SetFastHashingForTests() }

// promtool finds the Prometheus tool; in CI its absence is a failure, not a
// reason to skip.
func promtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("promtool is required in CI (apt-get install -y prometheus)")
		}
		t.Skip("promtool not installed (apt-get install -y prometheus)")
	}
	return p
}

const deployDir = "../../deploy"

// scrape serves real traffic in a tenant and returns the /metrics body.
func scrape(t *testing.T) (string, *metrics.Metrics) {
	t.Helper()
	db := storetest.Open(t)
	m := metrics.New()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	sink := events.Counting{Next: events.StoreSink{DB: db, Log: log}, Metrics: m}
	au := &auth.Service{DB: db, Secret: []byte("test-secret-test-secret-test-secret!")}
	srv := &httpapi.Server{DB: db, Auth: au, Events: sink, Metrics: m, Log: log, Analytics: &analytics.Service{DB: db}}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	ctx := context.Background()
	r, err := db.CreateRestaurant(ctx, "Alpha", "AA")
	if err != nil {
		t.Fatal(err)
	}
	m.InitTenant(r.ID, r.Currency) // as serve does at start
	hash, _ := auth.HashPassword("correct horse battery")
	u, err := db.CreateUser(tenancy.WithTenant(ctx, r.ID), tenancy.User{Email: "a@a.test", Role: tenancy.Admin, PasswordHash: hash})
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := au.Issue(u)
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/api/v1/me", "/api/v1/users/" + u.ID, "/admin/tenant_metrics/" + r.ID + "/health_metrics"} {
		req, _ := http.NewRequest("GET", ts.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	sink.Record(ctx, r.ID, events.UserLogin, map[string]any{"user_id": u.ID})
	sink.Record(ctx, r.ID, events.OrderCreated, map[string]any{"total_amount_cents": 1200})
	sink.Record(ctx, r.ID, events.PaymentProcessed, map[string]any{"amount_cents": 1200, "payment_method": "card"})
	sink.Record(ctx, r.ID, events.Error, map[string]any{"error_type": "payment_declined"})
	m.CrossTenantAttempts.WithLabelValues(r.ID).Inc()
	m.FailedLoginBursts.WithLabelValues(r.ID).Inc()
	resp, err := http.Get(ts.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return string(body), m
}

func TestScrapePassesPromtool(t *testing.T) {
	t.Parallel()
	tool := promtool(t)
	body, _ := scrape(t)
	for _, want := range []string{
		`tenant_requests_total{method="GET",route="/api/v1/users/{id}",status="200",tenant=`,
		`tenant_request_duration_seconds_bucket{method="GET",route="/api/v1/me",tenant=`,
		`tenant_orders_total{tenant=`, `tenant_payment_amount_cents_total{payment_method="card",tenant=`,
		`tenant_errors_total{error_type="payment_declined",tenant=`, `tenant_event_buffer_depth`, `tenant_events_dropped_total{reason="buffer_full"}`,
		// Started at 0, so increase() sees the first event.
		`tenant_payment_amount_cents_total{payment_method="cash",tenant=`, `tenant_errors_total{error_type="server_error",tenant=`,
		`tenant_logins_total{tenant=`, `tenant_currency_info{currency="USD",tenant=`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("scrape lacks %s", want)
		}
	}
	if strings.Contains(body, "/api/v1/users/0") {
		t.Error("a raw path (with an id) appears in a label")
	}
	cmd := exec.Command(tool, "check", "metrics")
	cmd.Stdin = strings.NewReader(body)
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
}

func TestAlertRules(t *testing.T) {
	t.Parallel()
	tool := promtool(t)
	dir := filepath.Join(deployDir, "prometheus")
	for _, args := range [][]string{
		{"check", "rules", "ordersuite-rules.yml"},
		{"test", "rules", "ordersuite-rules.test.yml"},
		{"check", "config", "prometheus.yml"},
	} {
		cmd := exec.Command(tool, args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

var metricName = regexp.MustCompile(`\b(tenant_[a-z_]+|login_failures_total)\b`)

// TestDeployFilesUseRealMetrics: every series the dashboard and the alert
// rules query is one the server exports, and the dashboard has its tenant
// variable and the panels it promises.
func TestDeployFilesUseRealMetrics(t *testing.T) {
	t.Parallel()
	_, m := scrape(t)
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	exported := map[string]bool{}
	for _, f := range families {
		exported[f.GetName()] = true
	}
	raw, err := os.ReadFile(filepath.Join(deployDir, "grafana/dashboards/ordersuite-tenants.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Templating struct {
			List []struct{ Name string } `json:"list"`
		} `json:"templating"`
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("dashboard JSON: %v", err)
	}
	hasTenant := false
	for _, v := range dash.Templating.List {
		hasTenant = hasTenant || v.Name == "tenant"
	}
	if !hasTenant {
		t.Error("dashboard has no tenant variable")
	}
	var exprs []string
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			exprs = append(exprs, tg.Expr)
		}
	}
	joined := strings.Join(exprs, "\n")
	for _, want := range []string{"histogram_quantile(0.95", "tenant_logins_total", "tenant_orders_total", "tenant_payment_amount_cents_total", "tenant_cross_access_attempts_total", `status=~"5.."`, `tenant=~"$tenant"`, "db_up", "db_unavailable_total"} {
		if !strings.Contains(joined, want) {
			t.Errorf("dashboard queries lack %s", want)
		}
	}
	rules, err := os.ReadFile(filepath.Join(deployDir, "prometheus/ordersuite-rules.yml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range metricName.FindAllString(joined+"\n"+string(rules), -1) {
		base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(name, "_bucket"), "_sum"), "_count")
		if !exported[base] && !strings.HasPrefix(name, "tenant_request_error_ratio") {
			t.Errorf("deploy files query %s, which the server does not export", name)
		}
	}
}

// TestHTTPRequestsCountEveryRequest: console pages, assets, the favicon and
// paths no route answers count in http_requests_total and the duration
// histogram, under the fixed route labels console and unmatched (a scan of
// random paths adds no label values).
func TestHTTPRequestsCountEveryRequest(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t)
	m := metrics.New()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/console/missing" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte("<html></html>"))
	})
	srv := &httpapi.Server{DB: db, Auth: &auth.Service{DB: db, Secret: []byte("test-secret-test-secret-test-secret!")},
		Events: events.StoreSink{DB: db, Log: log}, Metrics: m, Log: log, Analytics: &analytics.Service{DB: db}, Console: page}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	for _, c := range []struct{ method, path string }{
		{"GET", "/console"}, {"GET", "/console/analytics"}, {"GET", "/console/missing"}, {"GET", "/assets/console.css"},
		{"GET", "/favicon.ico"}, {"GET", "/no/such/path/1"}, {"GET", "/no/such/path/2"}, {"BREW", "/coffee"},
		{"DELETE", "/api/v1/me"},
	} {
		req, _ := http.NewRequest(c.method, ts.URL+c.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	for _, c := range []struct {
		route, method, status string
		want                  float64
	}{
		{"console", "GET", "200", 4}, {"console", "GET", "404", 1},
		{"unmatched", "GET", "404", 2}, {"unmatched", "other", "404", 1}, {"unmatched", "DELETE", "405", 1},
	} {
		if got := testutil.ToFloat64(m.HTTPRequests.WithLabelValues(c.route, c.method, c.status)); got != c.want {
			t.Errorf("http_requests_total{route=%q,method=%q,status=%q} = %v, want %v", c.route, c.method, c.status, got, c.want)
		}
	}
	if n := testutil.CollectAndCount(m.HTTPDuration); n != 4 {
		t.Errorf("%d duration series, want 4 (console GET, unmatched GET/other/DELETE)", n)
	}
	body := scrapeBody(t, ts.URL)
	if strings.Contains(body, "/no/such/path") || strings.Contains(body, "/console/analytics") {
		t.Error("a raw path appears in a label")
	}
}

func scrapeBody(t *testing.T, base string) string {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
