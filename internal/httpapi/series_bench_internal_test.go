package httpapi

import (
	"strconv"
	"testing"

	"github.com/shimizu-tech/ordersuite/internal/metrics"
)

// BenchmarkRequestSeries: the per-request Prometheus work of one tenant
// request (http_requests_total, http_request_duration_seconds and their
// tenant_ twins), through the route's kept handles against four label
// lookups in the vectors as each request did before.
func BenchmarkRequestSeries(b *testing.B) {
	const tenant, route, method = "0190a3c4-5b6d-7e8f-9a0b-1c2d3e4f5a6b", "/ofrep/v1/evaluate/flags/{key}", "POST"
	b.Run("kept_handles", func(b *testing.B) {
		rs := newRouteSeries(metrics.New(), route, method)
		b.ReportAllocs()
		for b.Loop() {
			rs.observe(200, 0.001)
			rs.observeTenant(tenant, 200, 0.001)
		}
	})
	b.Run("with_label_values", func(b *testing.B) {
		m := metrics.New()
		b.ReportAllocs()
		for b.Loop() {
			code := strconv.Itoa(200)
			m.HTTPRequests.WithLabelValues(route, method, code).Inc()
			m.HTTPDuration.WithLabelValues(route, method).Observe(0.001)
			m.TenantRequests.WithLabelValues(tenant, route, method, code).Inc()
			m.TenantDuration.WithLabelValues(tenant, route, method).Observe(0.001)
		}
	})
}

// BenchmarkPathParams: a route's parameter names, kept per pattern, against
// matching the pattern on every request.
func BenchmarkPathParams(b *testing.B) {
	const pattern = "/api/v1/restaurants/{id}/orders/{order_id}"
	b.Run("kept", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = patternParams(pattern)
		}
	})
	b.Run("matched", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = pathParams.FindAllStringSubmatch(pattern, -1)
		}
	})
}
