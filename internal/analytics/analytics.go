// Package analytics turns a tenant's event log into the figures operators
// read: usage over a date range, health right now, the platform overview,
// and the retention that keeps the log from growing for ever. Every figure is
// computed by the database (mostly from hourly rollups); no report loads the
// events themselves.
package analytics

import (
	"context"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/apperr"
	"github.com/shimizu-tech/ordersuite/internal/money"
	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// Health thresholds: above the first a tenant is in warning, above the
// second critical.
const (
	ErrorRateWarning     = 2.0  // percent of requests answered 5xx in 24 h
	ErrorRateCritical    = 5.0  // percent
	ResponseTimeWarning  = 500  // milliseconds, mean over the last hour
	ResponseTimeCritical = 1000 // milliseconds
)

// Status of a tenant's health.
const (
	Healthy  = "healthy"
	Warning  = "warning"
	Critical = "critical"
)

// Service computes the figures.
type Service struct {
	DB *store.DB
	// Started is when the serving process started (for uptime).
	Started time.Time
}

// Usage is what a tenant used over a range of days.
type Usage struct {
	StartDate string `json:"start_date"`
	EndDate   string `json:"end_date"`
	Orders    struct {
		Count            int64 `json:"count"`
		TotalAmountCents int64 `json:"total_amount_cents"`
		// Currency is the restaurant's (ISO 4217); TotalAmount is the
		// total written in it for people ("$ 24,014.76").
		Currency    string `json:"currency"`
		TotalAmount string `json:"total_amount"`
	} `json:"orders"`
	Users struct {
		ActiveCount int64 `json:"active_count"`
		TotalCount  int64 `json:"total_count"`
	} `json:"users"`
	APIRequests struct {
		Count             int64   `json:"count"`
		AverageDurationMS float64 `json:"average_duration_ms"`
		ServerErrors      int64   `json:"server_errors"`
		ErrorRate         float64 `json:"error_rate"`
		P95MS             float64 `json:"p95_ms"`
		P99MS             float64 `json:"p99_ms"`
	} `json:"api_requests"`
	Errors struct {
		Count int64 `json:"count"`
	} `json:"errors"`
	Events map[string]int64 `json:"events"`
}

// DefaultRange is the last 30 days to today (UTC), as the seed's service.
func DefaultRange(now time.Time) (start, end time.Time) {
	end = day(now)
	return end.AddDate(0, 0, -30), end
}

func day(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// UsageStats reports the tenant in ctx over the days start to end, both
// included (UTC calendar days).
func (s *Service) UsageStats(ctx context.Context, start, end time.Time) (Usage, error) {
	start, end = day(start), day(end)
	if end.Before(start) {
		return Usage{}, apperr.InvalidField("end_date", "must not be before start_date")
	}
	to := end.AddDate(0, 0, 1)
	var u Usage
	u.StartDate, u.EndDate = start.Format(time.DateOnly), end.Format(time.DateOnly)
	var err error
	if u.Orders.Count, u.Orders.TotalAmountCents, err = s.DB.OrderStats(ctx, start, to); err != nil {
		return u, err
	}
	rid, _ := tenancy.Tenant(ctx)
	rest, err := s.DB.Restaurant(ctx, rid)
	if err != nil {
		return u, err
	}
	u.Orders.Currency = rest.Currency
	u.Orders.TotalAmount = money.Format(u.Orders.TotalAmountCents, rest.Currency)
	if u.Users.ActiveCount, err = s.DB.ActiveUsers(ctx, u.StartDate, u.EndDate); err != nil {
		return u, err
	}
	if u.Users.TotalCount, err = s.DB.CountUsers(ctx); err != nil {
		return u, err
	}
	st, err := s.DB.EventStats(ctx, start, to)
	if err != nil {
		return u, err
	}
	u.APIRequests.Count = Requests(st)
	u.APIRequests.AverageDurationMS = MeanDurationMS(st)
	u.APIRequests.ServerErrors = ServerErrors(st)
	u.APIRequests.ErrorRate = ErrorRate(st)
	u.APIRequests.P95MS = DurationPercentileMS(st, 0.95)
	u.APIRequests.P99MS = DurationPercentileMS(st, 0.99)
	u.Errors.Count = st.Counts["error"]
	u.Events = st.Counts
	return u, nil
}

// Health is a tenant's state now.
type Health struct {
	Status string `json:"status"`
	// ErrorRate is the percentage of api requests answered 5xx in 24 h.
	ErrorRate    float64 `json:"error_rate"`
	Requests24h  int64   `json:"requests_24h"`
	ServerErrors int64   `json:"server_errors_24h"`
	ResponseTime float64 `json:"response_time_ms"` // mean over the last hour
	Requests1h   int64   `json:"requests_1h"`
	P95MS        float64 `json:"p95_ms"` // over the last hour
	P99MS        float64 `json:"p99_ms"`
	// Since24h and Since1h are where the two windows start (whole hours;
	// both run to now).
	Since24h      time.Time `json:"since_24h"`
	Since1h       time.Time `json:"since_1h"`
	UptimeSeconds int64     `json:"uptime_seconds"`
	ResourceUsage struct {
		DatabaseSizeBytes int64            `json:"database_size_bytes"`
		StorageUsageBytes int64            `json:"storage_usage_bytes"`
		Rows              map[string]int64 `json:"rows"`
	} `json:"resource_usage"`
	Thresholds map[string]float64 `json:"thresholds"`
}

// HealthMetrics reports the tenant in ctx.
func (s *Service) HealthMetrics(ctx context.Context) (Health, error) {
	now := s.DB.Now()
	dayFrom, dayTo := Window(now, 24*time.Hour)
	day, err := s.DB.EventStats(ctx, dayFrom, dayTo)
	if err != nil {
		return Health{}, err
	}
	hourFrom, hourTo := Window(now, time.Hour)
	hour, err := s.DB.EventStats(ctx, hourFrom, hourTo)
	if err != nil {
		return Health{}, err
	}
	h := healthOf(now, day, hour)
	if !s.Started.IsZero() {
		h.UptimeSeconds = int64(now.Sub(s.Started).Seconds())
	}
	rows, size, err := s.DB.TenantStorage(ctx)
	if err != nil {
		return h, err
	}
	h.ResourceUsage.Rows, h.ResourceUsage.DatabaseSizeBytes = rows, size
	// The tenant owns no files besides its database rows (backups are
	// reported by the backup API), so storage use is the database share.
	h.ResourceUsage.StorageUsageBytes = size
	return h, nil
}

func healthOf(now time.Time, day, hour store.RollupStats) Health {
	h := Health{
		Requests24h:  Requests(day),
		ServerErrors: ServerErrors(day),
		ErrorRate:    ErrorRate(day),
		Requests1h:   Requests(hour),
		ResponseTime: MeanDurationMS(hour),
		P95MS:        DurationPercentileMS(hour, 0.95),
		P99MS:        DurationPercentileMS(hour, 0.99),
		Thresholds: map[string]float64{
			"error_rate_warning": ErrorRateWarning, "error_rate_critical": ErrorRateCritical,
			"response_time_ms_warning": ResponseTimeWarning, "response_time_ms_critical": ResponseTimeCritical,
		},
	}
	h.Since24h, _ = Window(now, 24*time.Hour)
	h.Since1h, _ = Window(now, time.Hour)
	h.Status = StatusOf(h.ErrorRate, h.ResponseTime)
	return h
}

// StatusOf grades an error rate (percent) and mean response time (ms).
func StatusOf(errorRate, responseMS float64) string {
	switch {
	case errorRate > ErrorRateCritical || responseMS > ResponseTimeCritical:
		return Critical
	case errorRate > ErrorRateWarning || responseMS > ResponseTimeWarning:
		return Warning
	}
	return Healthy
}

// TenantSummary is one tenant's line in the platform overview.
type TenantSummary struct {
	RestaurantID string         `json:"restaurant_id"`
	Name         string         `json:"name"`
	State        tenancy.Status `json:"tenant_status"`
	Status       string         `json:"status"`
	ErrorRate    float64        `json:"error_rate"`
	Requests24h  int64          `json:"requests_24h"`
	ResponseTime float64        `json:"response_time_ms"`
	Events24h    int64          `json:"events_24h"`
	Alerts24h    int64          `json:"security_alerts_24h"`
}

// Overview is the platform summary: every tenant, and those with issues.
type Overview struct {
	GeneratedAt   time.Time       `json:"generated_at"`
	TenantCount   int             `json:"tenant_count"`
	Requests24h   int64           `json:"requests_24h"`
	Errors24h     int64           `json:"server_errors_24h"`
	Tenants       []TenantSummary `json:"tenants"`
	WithIssues    []TenantSummary `json:"tenants_with_issues"`
	UptimeSeconds int64           `json:"uptime_seconds"`
}

// Overview summarises every tenant with two grouped queries.
func (s *Service) Overview(ctx context.Context) (Overview, error) {
	now := s.DB.Now()
	rs, err := s.DB.Restaurants(ctx)
	if err != nil {
		return Overview{}, err
	}
	dayFrom, dayTo := Window(now, 24*time.Hour)
	days, err := s.DB.AllTenantsEventStats(ctx, dayFrom, dayTo)
	if err != nil {
		return Overview{}, err
	}
	hourFrom, hourTo := Window(now, time.Hour)
	hours, err := s.DB.AllTenantsEventStats(ctx, hourFrom, hourTo)
	if err != nil {
		return Overview{}, err
	}
	o := Overview{GeneratedAt: now, TenantCount: len(rs), Tenants: []TenantSummary{}, WithIssues: []TenantSummary{}}
	if !s.Started.IsZero() {
		o.UptimeSeconds = int64(now.Sub(s.Started).Seconds())
	}
	for _, r := range rs {
		h := healthOf(now, days[r.ID], hours[r.ID])
		ts := TenantSummary{RestaurantID: r.ID, Name: r.Name, State: r.Status, Status: h.Status,
			ErrorRate: h.ErrorRate, Requests24h: h.Requests24h, ResponseTime: h.ResponseTime,
			Alerts24h: days[r.ID].Counts["security_alert"]}
		for _, n := range days[r.ID].Counts {
			ts.Events24h += n
		}
		o.Requests24h += h.Requests24h
		o.Errors24h += h.ServerErrors
		o.Tenants = append(o.Tenants, ts)
		if ts.Status != Healthy || ts.State != tenancy.Active || ts.Alerts24h > 0 {
			o.WithIssues = append(o.WithIssues, ts)
		}
	}
	return o, nil
}

// TenantUsage is one tenant with its usage, for the all-tenants listing and
// the comparison.
type TenantUsage struct {
	RestaurantID string         `json:"restaurant_id"`
	Name         string         `json:"name"`
	State        tenancy.Status `json:"tenant_status"`
	Usage        Usage          `json:"usage"`
	Health       *Health        `json:"health,omitempty"`
}

// Tenants reports the usage of each listed restaurant (every one when ids is
// nil) over the days start to end; withHealth adds each one's health.
func (s *Service) Tenants(ctx context.Context, ids []string, start, end time.Time, withHealth bool) ([]TenantUsage, error) {
	var rs []tenancy.Restaurant
	if ids == nil {
		var err error
		if rs, err = s.DB.Restaurants(ctx); err != nil {
			return nil, err
		}
	}
	for _, id := range ids {
		if !store.ValidID(id) {
			return nil, apperr.Errorf(apperr.NotFound, "restaurant %s not found", id)
		}
		r, err := s.DB.Restaurant(ctx, id)
		if err != nil {
			return nil, err
		}
		rs = append(rs, r)
	}
	out := []TenantUsage{}
	for _, r := range rs {
		tctx := tenancy.WithTenant(ctx, r.ID)
		u, err := s.UsageStats(tctx, start, end)
		if err != nil {
			return nil, err
		}
		tu := TenantUsage{RestaurantID: r.ID, Name: r.Name, State: r.Status, Usage: u}
		if withHealth {
			h, err := s.HealthMetrics(tctx)
			if err != nil {
				return nil, err
			}
			tu.Health = &h
		}
		out = append(out, tu)
	}
	return out, nil
}
