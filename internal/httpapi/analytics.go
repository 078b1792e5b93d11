package httpapi

import (
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/analytics"
	"github.com/shimizu-tech/ordersuite/internal/apperr"
	"github.com/shimizu-tech/ordersuite/internal/events"
	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// analyticsRoutes are the tenant metrics API, on the seed's Rails paths.
// Admins read their own tenant (another id is not found); the platform-wide
// views are the operator's.
func analyticsRoutes() []Route {
	const base = "/admin/tenant_metrics"
	return []Route{
		{Method: "GET", Pattern: base, Handler: (*Server).tenantMetricsOverview, Roles: superAdmins},
		{Method: "GET", Pattern: base + "/all_tenants", Handler: (*Server).allTenantsMetrics, Roles: superAdmins},
		{Method: "GET", Pattern: base + "/tenant_comparison", Handler: (*Server).tenantComparison, Roles: superAdmins},
		{Method: "GET", Pattern: base + "/{id}", Handler: (*Server).tenantMetrics, Roles: admins, Scope: TenantInPath},
		{Method: "GET", Pattern: base + "/{id}/usage_stats", Handler: (*Server).tenantUsageStats, Roles: admins, Scope: TenantInPath},
		{Method: "GET", Pattern: base + "/{id}/health_metrics", Handler: (*Server).tenantHealthMetrics, Roles: admins, Scope: TenantInPath},
		{Method: "GET", Pattern: base + "/{id}/events", Handler: (*Server).tenantEvents, Roles: admins, Scope: TenantInPath},
	}
}

// maxRangeDays bounds a usage range; rollups make long ranges cheap, but a
// typo of a year 0001 should be refused, not computed.
const maxRangeDays = 3660

// ParseDay reads a YYYY-MM-DD date parameter (UTC); an empty value is
// absent.
func ParseDay(field, v string) (t time.Time, ok bool, err error) {
	if v == "" {
		return time.Time{}, false, nil
	}
	t, perr := time.Parse(time.DateOnly, v)
	if perr != nil || t.Year() < 2000 || t.Year() > 9999 {
		return time.Time{}, false, apperr.InvalidField(field, "must be a date YYYY-MM-DD from year 2000")
	}
	return t, true, nil
}

// ParseTimeOrDay reads a date (YYYY-MM-DD, the whole day) or an RFC 3339
// instant. endOfDay makes a date mean the end of that day, for upper bounds.
func ParseTimeOrDay(field, v string, endOfDay bool) (time.Time, bool, error) {
	if v == "" {
		return time.Time{}, false, nil
	}
	if t, ok, err := ParseDay(field, v); err == nil {
		if endOfDay {
			t = t.AddDate(0, 0, 1)
		}
		return t, ok, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil || t.Year() < 2000 || t.Year() > 9999 {
		return time.Time{}, false, apperr.InvalidField(field, "must be a date YYYY-MM-DD or an RFC 3339 time")
	}
	return t.UTC(), true, nil
}

// usageRange reads start_date and end_date (inclusive days), defaulting to
// the last 30 days.
func (s *Server) usageRange(q url.Values) (time.Time, time.Time, error) {
	start, end := analytics.DefaultRange(s.DB.Now())
	if t, ok, err := ParseDay("start_date", q.Get("start_date")); err != nil {
		return start, end, err
	} else if ok {
		start = t
	}
	if t, ok, err := ParseDay("end_date", q.Get("end_date")); err != nil {
		return start, end, err
	} else if ok {
		end = t
	}
	if end.Before(start) {
		return start, end, apperr.InvalidField("end_date", "must not be before start_date")
	}
	if end.Sub(start) > maxRangeDays*24*time.Hour {
		return start, end, apperr.InvalidField("start_date", "the range may span at most %d days", maxRangeDays)
	}
	return start, end, nil
}

func (s *Server) tenantMetricsOverview(w http.ResponseWriter, r *http.Request) error {
	o, err := s.Analytics.Overview(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, o)
	return nil
}

func (s *Server) allTenantsMetrics(w http.ResponseWriter, r *http.Request) error {
	start, end, err := s.usageRange(r.URL.Query())
	if err != nil {
		return err
	}
	ts, err := s.Analytics.Tenants(r.Context(), nil, start, end, false)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"tenants": ts, "start_date": start.Format(time.DateOnly), "end_date": end.Format(time.DateOnly)})
	return nil
}

// maxCompared bounds a comparison's work.
const maxCompared = 20

func (s *Server) tenantComparison(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	ids := q["restaurant_ids[]"]
	if len(ids) == 0 {
		ids = q["restaurant_ids"]
	}
	if len(ids) == 0 || len(ids) > maxCompared {
		return apperr.InvalidField("restaurant_ids[]", "name from 1 to %d restaurants", maxCompared)
	}
	for _, id := range ids {
		if !store.ValidID(id) {
			return apperr.InvalidField("restaurant_ids[]", "%q is not a restaurant id", id)
		}
	}
	start, end, err := s.usageRange(q)
	if err != nil {
		return err
	}
	ts, err := s.Analytics.Tenants(r.Context(), ids, start, end, true)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"tenants": ts, "start_date": start.Format(time.DateOnly), "end_date": end.Format(time.DateOnly)})
	return nil
}

func (s *Server) tenantMetrics(w http.ResponseWriter, r *http.Request) error {
	rid, _ := tenancy.Tenant(r.Context())
	start, end := analytics.DefaultRange(s.DB.Now())
	ts, err := s.Analytics.Tenants(r.Context(), []string{rid}, start, end, true)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ts[0])
	return nil
}

func (s *Server) tenantUsageStats(w http.ResponseWriter, r *http.Request) error {
	start, end, err := s.usageRange(r.URL.Query())
	if err != nil {
		return err
	}
	u, err := s.Analytics.UsageStats(r.Context(), start, end)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, u)
	return nil
}

func (s *Server) tenantHealthMetrics(w http.ResponseWriter, r *http.Request) error {
	h, err := s.Analytics.HealthMetrics(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, h)
	return nil
}

// tenantEvents answers a page of a tenant's events, newest first. Pages
// follow a cursor (next_cursor of the previous page), never an offset, so
// the thousandth page costs what the first does. page=1 still means the
// first page; a later page number is refused, naming the cursor instead.
func (s *Server) tenantEvents(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	var f store.EventFilter
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return apperr.InvalidField("page", "must be a positive integer")
		}
		if n > 1 {
			return apperr.InvalidField("page", "events are paged by cursor: pass the next_cursor of the previous page as cursor")
		}
	}
	perPage := 25
	if v := q.Get("per_page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPerPage {
			return apperr.InvalidField("per_page", "must be an integer from 1 to %d", maxPerPage)
		}
		perPage = n
	}
	if c := q.Get("cursor"); c != "" {
		at, id, ok := parseAuditCursor(c)
		if !ok {
			return apperr.InvalidField("cursor", "is not a cursor this API gave out")
		}
		f.After = store.EventCursor{At: at, ID: id}
	}
	if t := q.Get("event_type"); t != "" {
		if !events.Type(t).Valid() {
			return apperr.InvalidField("event_type", "must be one of %v", events.Types)
		}
		f.Type = t
	}
	var err error
	if f.From, _, err = ParseTimeOrDay("start_date", q.Get("start_date"), false); err != nil {
		return err
	}
	if f.To, _, err = ParseTimeOrDay("end_date", q.Get("end_date"), true); err != nil {
		return err
	}
	if !f.From.IsZero() && !f.To.IsZero() && f.To.Before(f.From) {
		return apperr.InvalidField("end_date", "must not be before start_date")
	}
	page, err := s.DB.Events(r.Context(), f, perPage)
	if err != nil {
		return err
	}
	body := eventsPage{Events: page.Events, PerPage: perPage, Total: page.Total}
	if !page.Next.At.IsZero() {
		body.NextCursor = auditCursor(page.Next.At, page.Next.ID)
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}

// eventsPage is one page of a tenant's events.
type eventsPage struct {
	Events  []store.TenantEvent `json:"events"`
	PerPage int                 `json:"per_page"`
	// Total counts the events matching the filters, on every page.
	Total int `json:"total"`
	// NextCursor continues the listing (as cursor); absent on the last page.
	NextCursor string `json:"next_cursor,omitempty"`
}
