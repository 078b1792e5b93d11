// Package metrics owns the Prometheus registry and the product's series.
// Label sets are bounded: routes are patterns, never raw paths, and no user
// ids appear in labels.
package metrics

import (
	"sync/atomic"

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
	// LoginThrottled counts attempts refused by the login throttle, by where
	// (api, console) and what was throttled (account, address, api_key).
	LoginThrottled *prometheus.CounterVec

	// Per-tenant series; tenant is the restaurant id.
	TenantRequests     *prometheus.CounterVec
	TenantDuration     *prometheus.HistogramVec
	TenantErrors       *prometheus.CounterVec
	TenantOrders       *prometheus.CounterVec
	TenantPaymentCents *prometheus.CounterVec
	TenantLogins       *prometheus.CounterVec
	FailedLoginBursts  *prometheus.CounterVec
	// EventBufferDepth is read when scraped, from the function the event
	// buffer gives ReportEventBufferDepth: a gauge set on each change was
	// stale between the writer's batches.
	EventBufferDepth    prometheus.GaugeFunc
	eventBufferDepth    atomic.Pointer[func() int]
	EventBufferCapacity prometheus.Gauge
	EventsDropped       *prometheus.CounterVec
	EventsWritten       prometheus.Counter
	EventBatchDuration  prometheus.Histogram
	EventsPruned        prometheus.Counter

	// BackupDestinationErrors counts failed operations of one backup
	// destination, by kind ("local", "s3"): a backup still succeeds while
	// one copy is written, so this is how a dead destination is noticed.
	BackupDestinationErrors *prometheus.CounterVec

	// ChangesShippedThrough is the moment up to which every restaurant's
	// change log was last shipped (Unix seconds), set by the instance that
	// ships: time() minus it is the recovery point objective (RPO) now.
	ChangesShippedThrough prometheus.Gauge

	// TenantCurrency is 1 for each tenant's currency (ISO 4217), so money
	// series can be read in it: join on tenant with group_left(currency).
	TenantCurrency *prometheus.GaugeVec

	// DBUnavailable counts work refused because the database was
	// unreachable or busy beyond its timeouts, by source (http, console,
	// events, jobs); DatabaseUp is the background check's finding.
	DBUnavailable *prometheus.CounterVec
	DatabaseUp    prometheus.Gauge
}

// PaymentMethods are the payment method kinds, the fixed values of the
// payment_method label ("unknown" for an event that names none).
var PaymentMethods = []string{"cash", "card", "mobile", "voucher", "other", "unknown"}

// ServerErrorType is the error_type of the error event a 5xx answer records.
const ServerErrorType = "server_error"

// InitTenant makes the tenant's series exist at 0 (with its currency), so
// that the first event after a start, or in a new tenant, is an increase
// Prometheus can see: a series that appears with its first increment has no
// earlier sample to compare with. serve calls it for every tenant at start
// and for each tenant it creates.
func (m *Metrics) InitTenant(tenant, currency string) {
	m.TenantOrders.WithLabelValues(tenant)
	m.TenantLogins.WithLabelValues(tenant)
	m.FailedLoginBursts.WithLabelValues(tenant)
	m.CrossTenantAttempts.WithLabelValues(tenant)
	m.TenantErrors.WithLabelValues(tenant, ServerErrorType)
	for _, method := range PaymentMethods {
		m.TenantPaymentCents.WithLabelValues(tenant, method)
	}
	if currency != "" {
		m.TenantCurrency.DeletePartialMatch(prometheus.Labels{"tenant": tenant})
		m.TenantCurrency.WithLabelValues(tenant, currency).Set(1)
	}
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
		LoginThrottled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "login_throttled_total",
			Help: "Sign-in and API-key attempts refused by the throttle (429), by surface and by what was throttled.",
		}, []string{"surface", "kind"}),
		TenantRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tenant_requests_total",
			Help: "Requests made in a tenant, by route pattern, method and status code.",
		}, []string{"tenant", "route", "method", "status"}),
		TenantDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tenant_request_duration_seconds",
			Help:    "Time to serve a tenant's request, by route pattern and method.",
			Buckets: prometheus.DefBuckets,
		}, []string{"tenant", "route", "method"}),
		TenantErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tenant_errors_total",
			Help: "Errors in a tenant, by type (server_error for 5xx answers).",
		}, []string{"tenant", "error_type"}),
		TenantOrders: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tenant_orders_total",
			Help: "Orders created in a tenant.",
		}, []string{"tenant"}),
		TenantPaymentCents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tenant_payment_amount_cents_total",
			Help: "Amount of the payments recorded in a tenant, in cents, by payment method.",
		}, []string{"tenant", "payment_method"}),
		TenantLogins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tenant_logins_total",
			Help: "Successful logins of a tenant's users.",
		}, []string{"tenant"}),
		FailedLoginBursts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tenant_failed_login_bursts_total",
			Help: "Bursts of failed logins against one e-mail address of a tenant.",
		}, []string{"tenant"}),
		EventBufferCapacity: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tenant_event_buffer_capacity",
			Help: "How many tenant events the buffer holds before it drops new ones.",
		}),
		EventsDropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tenant_events_dropped_total",
			Help: "Tenant events lost, by reason (buffer_full, write_failed, closed).",
		}, []string{"reason"}),
		EventsWritten: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tenant_events_written_total",
			Help: "Tenant events written to the database.",
		}),
		EventBatchDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "tenant_event_batch_write_duration_seconds",
			Help:    "Time to write one batch of tenant events.",
			Buckets: prometheus.DefBuckets,
		}),
		EventsPruned: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tenant_events_pruned_total",
			Help: "Tenant events deleted by retention.",
		}),
		BackupDestinationErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "backup_destination_errors_total",
			Help: "Failed operations (put, get, list, delete) on a backup destination, by destination kind.",
		}, []string{"destination"}),
		ChangesShippedThrough: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "changelog_shipped_through_timestamp_seconds",
			Help: "Moment (Unix seconds) up to which every restaurant's change log is shipped to the backup destinations; time() minus it is the current RPO.",
		}),
		TenantCurrency: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tenant_currency_info",
			Help: "1 for the currency (ISO 4217) a tenant's amounts are in.",
		}, []string{"tenant", "currency"}),
		DBUnavailable: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "db_unavailable_total",
			Help: "Work refused (answered 503 or put off) because the database was unreachable or busy beyond its timeouts, by source.",
		}, []string{"source"}),
		DatabaseUp: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "db_up",
			Help: "1 when the background check last reached the database, 0 when it did not.",
		}),
	}
	for _, reason := range []string{"buffer_full", "write_failed", "closed"} {
		m.EventsDropped.WithLabelValues(reason)
	}
	// Present at zero from the start, so an alert on increase() sees the
	// first failure.
	for _, dest := range []string{"local", "s3"} {
		m.BackupDestinationErrors.WithLabelValues(dest)
	}
	for _, source := range []string{"http", "console", "events", "jobs"} {
		m.DBUnavailable.WithLabelValues(source)
	}
	m.EventBufferDepth = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "tenant_event_buffer_depth",
		Help: "Tenant events waiting in memory to be written.",
	}, func() float64 {
		if f := m.eventBufferDepth.Load(); f != nil {
			return float64((*f)())
		}
		return 0
	})
	m.Registry.MustRegister(m.DBUnavailable, m.DatabaseUp)
	m.Registry.MustRegister(
		m.TenantRequests, m.TenantDuration, m.TenantErrors, m.TenantOrders, m.TenantPaymentCents, m.TenantLogins,
		m.FailedLoginBursts, m.EventBufferDepth, m.EventBufferCapacity, m.EventsDropped, m.EventsWritten,
		m.EventBatchDuration, m.EventsPruned, m.BackupDestinationErrors, m.TenantCurrency, m.ChangesShippedThrough,
	)
	m.Registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.HTTPRequests, m.HTTPDuration, m.CrossTenantAttempts, m.LoginFailures, m.LoginThrottled,
	)
	return m
}

// ReportEventBufferDepth makes tenant_event_buffer_depth read depth.
func (m *Metrics) ReportEventBufferDepth(depth func() int) { m.eventBufferDepth.Store(&depth) }
