package httpapi

import (
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shimizu-tech/ordersuite/internal/metrics"
)

// routeSeries keeps one route's Prometheus series once they exist, so a
// request finds its counter and histogram in a small map of the route's own
// instead of hashing four label values through the vectors. A series is
// made on first use, exactly as WithLabelValues would make it, so what
// /metrics shows does not change; nothing deletes these series, so a kept
// handle never goes stale.
type routeSeries struct {
	m             *metrics.Metrics
	route, method string

	mu             sync.RWMutex
	duration       prometheus.Observer
	requests       map[int]prometheus.Counter
	tenantDuration map[string]prometheus.Observer
	tenantRequests map[tenantStatus]prometheus.Counter
}

type tenantStatus struct {
	tenant string
	status int
}

func newRouteSeries(m *metrics.Metrics, route, method string) *routeSeries {
	return &routeSeries{m: m, route: route, method: method, requests: map[int]prometheus.Counter{},
		tenantDuration: map[string]prometheus.Observer{}, tenantRequests: map[tenantStatus]prometheus.Counter{}}
}

// observe counts a request of the route (http_requests_total,
// http_request_duration_seconds).
func (rs *routeSeries) observe(status int, seconds float64) {
	rs.mu.RLock()
	c, d := rs.requests[status], rs.duration
	rs.mu.RUnlock()
	if c == nil || d == nil {
		rs.mu.Lock()
		if c = rs.requests[status]; c == nil {
			c = rs.m.HTTPRequests.WithLabelValues(rs.route, rs.method, strconv.Itoa(status))
			rs.requests[status] = c
		}
		if d = rs.duration; d == nil {
			d = rs.m.HTTPDuration.WithLabelValues(rs.route, rs.method)
			rs.duration = d
		}
		rs.mu.Unlock()
	}
	c.Inc()
	d.Observe(seconds)
}

// observeTenant counts a tenant's request of the route
// (tenant_requests_total, tenant_request_duration_seconds).
func (rs *routeSeries) observeTenant(tenant string, status int, seconds float64) {
	k := tenantStatus{tenant, status}
	rs.mu.RLock()
	c, d := rs.tenantRequests[k], rs.tenantDuration[tenant]
	rs.mu.RUnlock()
	if c == nil || d == nil {
		rs.mu.Lock()
		if c = rs.tenantRequests[k]; c == nil {
			c = rs.m.TenantRequests.WithLabelValues(tenant, rs.route, rs.method, strconv.Itoa(status))
			rs.tenantRequests[k] = c
		}
		if d = rs.tenantDuration[tenant]; d == nil {
			d = rs.m.TenantDuration.WithLabelValues(tenant, rs.route, rs.method)
			rs.tenantDuration[tenant] = d
		}
		rs.mu.Unlock()
	}
	c.Inc()
	d.Observe(seconds)
}
