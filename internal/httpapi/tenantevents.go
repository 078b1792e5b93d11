package httpapi

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/events"
	"github.com/shimizu-tech/ordersuite/internal/store"
)

// untracked paths are the probes, the scrape and static files: recording
// them would drown the tenants' own traffic.
func untracked(path string) bool {
	switch {
	case path == "/health", path == "/ready", path == "/metrics",
		strings.HasPrefix(path, "/assets/"):
		return true
	}
	return false
}

// apiRequest is the api_request event's payload.
type apiRequest struct {
	Path       string `json:"path"`
	Route      string `json:"route"`
	Method     string `json:"method"`
	DurationMS int64  `json:"duration_ms"`
	Status     int    `json:"status"`
	UserID     string `json:"user_id,omitempty"`
}

// recordTenantRequest is the tenant metrics middleware: an api_request event
// (queued, never written on the request path), the per-tenant series, and
// for 5xx answers an error event.
func (s *Server) recordTenantRequest(r *http.Request, rt Route, who requestTenant, status int, elapsed time.Duration) {
	code := strconv.Itoa(status)
	s.Metrics.TenantRequests.WithLabelValues(who.restaurantID, rt.Pattern, rt.Method, code).Inc()
	s.Metrics.TenantDuration.WithLabelValues(who.restaurantID, rt.Pattern, rt.Method).Observe(elapsed.Seconds())
	s.Events.Record(r.Context(), who.restaurantID, events.APIRequest, apiRequest{
		Path: store.EscapeText(r.URL.Path), Route: rt.Pattern, Method: r.Method, DurationMS: elapsed.Milliseconds(), Status: status, UserID: who.userID,
	})
	if status >= 500 {
		s.Events.Record(r.Context(), who.restaurantID, events.Error, map[string]any{
			"error_type": "server_error", "status": status, "path": store.EscapeText(r.URL.Path), "route": rt.Pattern, "method": r.Method,
		})
	}
}

// failedLogin feeds the burst detector; a burst becomes a security_alert in
// every tenant where the address has an account (or the one named), since
// those are the accounts under attack. An address known nowhere has no
// tenant to alert: the counter and the log still show it.
func (s *Server) failedLogin(r *http.Request, email, restaurantID string) {
	if s.LoginBursts == nil || email == "" {
		return
	}
	burst, failures, err := s.LoginBursts.Failed(r.Context(), email, clientIP(r))
	if err != nil {
		s.Log.ErrorContext(r.Context(), "failed-login burst: record failure", "err", err)
		return
	}
	if !burst {
		return
	}
	users, err := s.DB.UsersByEmail(r.Context(), email)
	if err != nil {
		s.Log.ErrorContext(r.Context(), "failed-login burst: find tenants", "err", err)
		return
	}
	ip := clientIP(r)
	s.Log.WarnContext(r.Context(), "failed-login burst", "failures", failures, "window", s.LoginBursts.Window, "ip", ip)
	alerted := map[string]bool{}
	for _, u := range users {
		if alerted[u.RestaurantID] || (restaurantID != "" && u.RestaurantID != restaurantID) {
			continue
		}
		alerted[u.RestaurantID] = true
		s.Metrics.FailedLoginBursts.WithLabelValues(u.RestaurantID).Inc()
		s.Events.Record(r.Context(), u.RestaurantID, events.SecurityAlert, map[string]any{
			"alert": "failed_login_burst", "user_id": u.ID, "email": u.Email, "failures": failures,
			"window_seconds": int(s.LoginBursts.Window.Seconds()), "ip": ip,
		})
	}
}
