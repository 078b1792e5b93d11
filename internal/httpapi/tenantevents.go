package httpapi

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/auth"
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

// recordTenantRequest is the tenant metrics middleware: an api_request event
// (queued, never written on the request path), the per-tenant series, and
// for 5xx answers an error event.
// The route's series handles are kept in rs (nil: looked up afresh).
func (s *Server) recordTenantRequest(r *http.Request, rt Route, rs *routeSeries, who requestTenant, status int, elapsed time.Duration) {
	if rs == nil {
		rs = newRouteSeries(s.Metrics, rt.Pattern, rt.Method)
	}
	rs.observeTenant(who.restaurantID, status, elapsed.Seconds())
	s.Events.Record(r.Context(), who.restaurantID, events.APIRequest, events.RequestData{
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
	if email == "" {
		return
	}
	ip := clientIP(r)
	var burst bool
	var failures int
	switch th := s.Auth.Throttle; {
	case th != nil:
		// The throttle records the failure; the burst alert reads its rank.
		var window time.Duration
		if s.LoginBursts != nil {
			window = s.LoginBursts.Window
		}
		rank, closed, err := th.LoginFailed(r.Context(), email, ip, window)
		if err != nil {
			s.Log.ErrorContext(r.Context(), "login throttle: record failure", "err", err)
			return
		}
		s.throttleClosed(r, closed)
		failures = rank
		burst = s.LoginBursts != nil && s.LoginBursts.Threshold > 0 && rank%s.LoginBursts.Threshold == 0
	case s.LoginBursts != nil:
		var err error
		burst, failures, err = s.LoginBursts.Failed(r.Context(), email, ip)
		if err != nil {
			s.Log.ErrorContext(r.Context(), "failed-login burst: record failure", "err", err)
			return
		}
	}
	if !burst {
		return
	}
	users, err := s.DB.UsersByEmail(r.Context(), email)
	if err != nil {
		s.Log.ErrorContext(r.Context(), "failed-login burst: find tenants", "err", err)
		return
	}
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

// throttleClosed logs the throttles a failure closed and records a
// security_alert in every tenant with an account under the throttled
// e-mail. A throttled address belongs to no tenant: the log and the
// platform's list of throttles (the console's) show it.
func (s *Server) throttleClosed(r *http.Request, closed []auth.Closed) {
	for _, c := range closed {
		s.Log.WarnContext(r.Context(), "login throttle closed", "kind", c.Kind, "failures", c.Failures, "until", c.Until, "ip", clientIP(r))
		if c.Kind != "account" {
			continue
		}
		users, err := s.DB.UsersByEmail(r.Context(), c.Subject)
		if err != nil {
			s.Log.ErrorContext(r.Context(), "login throttle: find tenants", "err", err)
			continue
		}
		alerted := map[string]bool{}
		for _, u := range users {
			if alerted[u.RestaurantID] {
				continue
			}
			alerted[u.RestaurantID] = true
			s.Events.Record(r.Context(), u.RestaurantID, events.SecurityAlert, map[string]any{
				"alert": "login_throttled", "user_id": u.ID, "email": u.Email, "failures": c.Failures,
				"until": c.Until, "ip": clientIP(r),
			})
		}
	}
}

// loginThrottled counts a refused attempt.
func (s *Server) loginThrottled(r *http.Request, surface string, err error) {
	var t *auth.Throttled
	if errors.As(err, &t) {
		s.Metrics.LoginThrottled.WithLabelValues(surface, t.Kind).Inc()
		s.Log.WarnContext(r.Context(), "attempt throttled", "surface", surface, "kind", t.Kind, "ip", clientIP(r), "retry_after", t.RetryAfter)
	}
}
