// Package metrics owns the Prometheus registry and the product's series.
// Label sets are bounded: routes are patterns, never raw paths, and no user
// ids appear in labels.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics is the registry with every series the product exports.
type Metrics struct {
	Registry *prometheus.Registry

	HTTPRequests        *prometheus.CounterVec
	HTTPDuration        *prometheus.HistogramVec
	CrossTenantAttempts *prometheus.CounterVec
	LoginFailures       prometheus.Counter
}

// New builds a registry with the Go runtime and process collectors.
func New() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		HTTPRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "http_requests_total",
			Help: "HTTP requests served, by route pattern, method and status code.",
		}, []string{"route", "method", "status"}),
		HTTPDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "http_request_duration_seconds",
			Help:    "Time to serve an HTTP request, by route pattern and method.",
			Buckets: prometheus.DefBuckets,
		}, []string{"route", "method"}),
		CrossTenantAttempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tenant_cross_access_attempts_total",
			Help: "Requests by a user pinned to one tenant that asked for another, by the caller's tenant.",
		}, []string{"tenant"}),
		LoginFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "login_failures_total",
			Help: "Failed login attempts.",
		}),
	}
	m.Registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.HTTPRequests, m.HTTPDuration, m.CrossTenantAttempts, m.LoginFailures,
	)
	return m
}
