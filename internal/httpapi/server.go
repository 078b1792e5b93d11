// Package httpapi is the JSON API: the route table, authentication and
// tenant resolution, and the mapping of errors to HTTP statuses. It is the
// only package that knows about status codes.
package httpapi

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/shimizu-tech/ordersuite/internal/analytics"
	"github.com/shimizu-tech/ordersuite/internal/apperr"
	"github.com/shimizu-tech/ordersuite/internal/auth"
	"github.com/shimizu-tech/ordersuite/internal/availability"
	"github.com/shimizu-tech/ordersuite/internal/backup"
	"github.com/shimizu-tech/ordersuite/internal/events"
	"github.com/shimizu-tech/ordersuite/internal/flags"
	"github.com/shimizu-tech/ordersuite/internal/jobs"
	"github.com/shimizu-tech/ordersuite/internal/metrics"
	"github.com/shimizu-tech/ordersuite/internal/notify"
	"github.com/shimizu-tech/ordersuite/internal/payments"
	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// TenantHeader is how a super_admin chooses the tenant of a request.
const TenantHeader = "X-Restaurant-ID"

// tenantHeaderKey and apiKeyHeaderKey are the canonical forms under which
// net/http stores those headers: Header.Get canonicalises a name that is
// not, with an allocation, on every request.
var (
	tenantHeaderKey = http.CanonicalHeaderKey(TenantHeader)
	apiKeyHeaderKey = http.CanonicalHeaderKey("X-API-Key")
)

// Server serves the API.
type Server struct {
	DB      *store.DB
	Auth    *auth.Service
	Events  events.Sink
	Metrics *metrics.Metrics
	Log     *slog.Logger
	Version string
	// Gateway takes payments; nil means payments.Offline (money taken at
	// the counter).
	Gateway payments.Gateway
	// Channels deliver order notifications; none by default.
	Channels []notify.Channel
	Flags    *flags.Service

	Analytics   *analytics.Service
	LoginBursts *analytics.LoginBursts // nil: no failed-login burst alerts
	// Console, when set, serves the admin web pages under /console/ and
	// their files under /assets/.
	Console http.Handler
	// SkipTenantRequests serves without the per-tenant request events and
	// series (the middleware's benchmark baseline).
	SkipTenantRequests bool

	// Readiness answers /ready from a background check of the database;
	// nil means each /ready pings the database itself.
	Readiness *availability.Monitor
	// Outages counts and logs the requests refused because the database
	// was unavailable; nil gives a reporter on Log and Metrics.
	Outages *availability.Reporter

	Backups      *backup.Service               // disaster recovery
	Jobs         *jobs.Queue                   // background jobs
	Environments map[string]backup.Environment // tenant migration targets
}

// Handler returns the whole HTTP handler: every route of the table, /metrics,
// and JSON answers for unknown paths and wrong methods.
func (s *Server) Handler() http.Handler {
	if s.Flags == nil {
		// A server assembled without a flag service still answers the flag
		// routes and flag checks, from its own database and cache.
		s.Flags = flags.New(s.DB, flags.Options{Log: s.Log})
	}
	if s.Outages == nil {
		s.Outages = &availability.Reporter{Log: s.Log, Metrics: s.Metrics}
	}
	mux := http.NewServeMux()
	for _, rt := range Routes() {
		mux.Handle(rt.Method+" "+rt.Pattern, s.route(rt))
	}
	if s.Console != nil {
		console := s.counted(ConsoleRoute, s.Console)
		mux.Handle("/console", console)
		mux.Handle("/console/", console)
		mux.Handle("/assets/", console)
		mux.Handle("/favicon.ico", console)
	}
	mux.Handle("GET /metrics", s.counted("/metrics", promhttp.HandlerFor(s.Metrics.Registry, promhttp.HandlerOpts{})))
	// Whatever no route takes lands here: a path some route answers with
	// another method gets 405 and Allow (asked of the mux itself, because a
	// literal path like /x/enable and a wildcard /x/{id} may share a prefix
	// with different methods), anything else 404 — both in JSON.
	mux.Handle("/", s.counted(UnmatchedRoute, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var allowed []string
		for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
			probe := &http.Request{Method: m, URL: r.URL, Host: r.Host, Header: http.Header{}}
			if _, pattern := mux.Handler(probe); pattern != "/" && pattern != "" {
				allowed = append(allowed, m)
			}
		}
		if len(allowed) > 0 {
			allow := strings.Join(allowed, ", ")
			w.Header().Set("Allow", allow)
			writeJSON(w, http.StatusMethodNotAllowed, errorBody{Error: errorDetail{
				Code: "method_not_allowed", Message: fmt.Sprintf("%s is not allowed here; use %s", r.Method, allow)}})
			return
		}
		writeError(w, r, s.Log, apperr.Errorf(apperr.NotFound, "no such endpoint: %s %s", r.Method, r.URL.Path))
	})))
	return s.recoverPanics(mux)
}

// Route labels of the requests no route of the table serves: the console's
// pages and assets, and paths nothing answers (404/405). Fixed values, so a
// scan of random paths cannot grow the label set.
const (
	ConsoleRoute   = "console"
	UnmatchedRoute = "unmatched"
)

// methodLabel bounds the method label to the methods HTTP defines.
func methodLabel(m string) string {
	switch m {
	case "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE":
		return m
	}
	return "other"
}

// counted keeps http_requests_total and http_request_duration_seconds for
// requests served outside the route table, under a fixed route label.
func (s *Server) counted(route string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		defer func() {
			status := rec.status
			if status == 0 {
				status = http.StatusOK
			}
			if v := recover(); v != nil {
				status = http.StatusInternalServerError
				defer panic(v)
			}
			method := methodLabel(r.Method)
			s.Metrics.HTTPRequests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
			s.Metrics.HTTPDuration.WithLabelValues(route, method).Observe(time.Since(start).Seconds())
		}()
		next.ServeHTTP(rec, r)
	})
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (w *statusRecorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusRecorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// recoverPanics turns a panic into a logged 500 instead of a dropped
// connection.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.Log.ErrorContext(r.Context(), "panic serving request", "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
				writeError(w, r, s.Log, fmt.Errorf("panic: %v", v))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// route wraps one handler with authentication, authorization, tenant
// resolution, the tenant status checks, logging and metrics.
func (s *Server) route(rt Route) http.Handler {
	series := newRouteSeries(s.Metrics, rt.Pattern, rt.Method)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		h := w.Header()
		h["X-Content-Type-Options"] = noSniff
		if r.Header.Get("Authorization") != "" {
			// An answer to a credential is that caller's alone: no cache
			// along the way may keep it.
			h["Cache-Control"] = noStore
		}
		// The recorder and the caller in one allocation: both outlive the
		// stack frame (the handler keeps one, the deferred recovery the other).
		call := &struct {
			rec statusRecorder
			who requestTenant
		}{rec: statusRecorder{ResponseWriter: w}}
		rec, who := &call.rec, &call.who
		defer func() {
			// A panicking handler is answered 500 further out; its tenant
			// still gets the request and error events.
			if v := recover(); v != nil {
				if who.restaurantID != "" && !s.SkipTenantRequests && !untracked(r.URL.Path) && v != http.ErrAbortHandler {
					s.recordTenantRequest(r, rt, series, *who, http.StatusInternalServerError, time.Since(start))
				}
				panic(v)
			}
		}()
		err := s.serveRoute(rt, rec, r, who)
		if err != nil {
			if isUnavailable(err) {
				s.Outages.Report(r.Context(), "http", err, "route", rt.Pattern)
			}
			if rt.OFREP {
				writeOFREPError(rec, r, s.Log, err)
			} else {
				writeError(rec, r, s.Log, err)
			}
		}
		elapsed := time.Since(start)
		status := rec.status
		if status == 0 {
			status = http.StatusOK
		}
		series.observe(status, elapsed.Seconds())
		if who.restaurantID != "" && !s.SkipTenantRequests && !untracked(r.URL.Path) {
			s.recordTenantRequest(r, rt, series, *who, status, elapsed)
		}
		// A 503 is the database's outage, reported by Outages; only the
		// product's own failures are errors.
		level := slog.LevelInfo
		if status >= 500 && status != http.StatusServiceUnavailable {
			level = slog.LevelError
		}
		// Asked first: the attributes cost allocations even when dropped.
		if s.Log.Enabled(r.Context(), level) {
			s.Log.Log(r.Context(), level, "request", "method", r.Method, "path", r.URL.Path,
				"route", rt.Pattern, "status", status, "duration_ms", elapsed.Milliseconds())
		}
	})
}

// requestTenant is who made a request: known once the token is checked
// (pinned users) or the tenant resolved (super_admin).
type requestTenant struct {
	restaurantID, userID string
}

func (s *Server) serveRoute(rt Route, w http.ResponseWriter, r *http.Request, who *requestTenant) error {
	if rt.Roles == nil {
		if err := checkRequestText(rt, r); err != nil {
			return err
		}
		return rt.Handler(s, w, r)
	}
	token, ok := bearerToken(r)
	if !ok {
		return apperr.Errorf(apperr.Unauthorized, "missing bearer token")
	}
	isKey := strings.HasPrefix(token, auth.APIKeyPrefix)
	if th := s.Auth.Throttle; th != nil && isKey {
		if err := th.CheckAPIKey(r.Context(), clientIP(r)); err != nil {
			s.loginThrottled(r, "api", err)
			return err
		}
	}
	var p tenancy.Principal
	var err error
	if rt.SDKKey {
		// Flag evaluation answers through a database outage for the
		// callers this instance knew (docs/outages.md).
		p, err = s.Auth.AuthenticateAllowingStale(r.Context(), token)
	} else {
		p, err = s.Auth.Authenticate(r.Context(), token)
	}
	if err != nil {
		if th := s.Auth.Throttle; th != nil && isKey && apperr.Is(err, apperr.Unauthorized) {
			if closed, ferr := th.APIKeyFailed(r.Context(), clientIP(r)); ferr != nil {
				s.Log.ErrorContext(r.Context(), "login throttle: record api key failure", "err", ferr)
			} else if closed != nil {
				s.throttleClosed(r, []auth.Closed{*closed})
			}
		}
		return err
	}
	p.IP = clientIP(r)
	who.restaurantID, who.userID = p.RestaurantID, p.UserID
	if auth.IsAPIKey(p) && !rt.APIKey {
		return apperr.Errorf(apperr.Forbidden, "API keys may not call %s %s", rt.Method, rt.Pattern)
	}
	if auth.IsSDKKey(p) && !rt.SDKKey {
		return apperr.Errorf(apperr.Forbidden, "SDK keys may only evaluate feature flags, not call %s %s", rt.Method, rt.Pattern)
	}
	ctx := tenancy.WithPrincipal(r.Context(), p)
	if !rt.Allows(p.Role) {
		return apperr.Errorf(apperr.Forbidden, "role %s may not %s %s", p.Role, rt.Method, rt.Pattern)
	}
	if err := checkRequestText(rt, r); err != nil {
		return err
	}
	ctx, err = s.resolveTenant(ctx, rt, r, p)
	if err != nil {
		return err
	}
	if rid, ok := tenancy.Tenant(ctx); ok {
		who.restaurantID = rid
	}
	return rt.Handler(s, w, r.WithContext(ctx))
}

// resolveTenant puts the request's tenant in the context and enforces the
// tenant's status.
func (s *Server) resolveTenant(ctx context.Context, rt Route, r *http.Request, p tenancy.Principal) (context.Context, error) {
	chosen := r.Header.Get(tenantHeaderKey)
	if chosen == "" && r.URL.RawQuery != "" { // parsing the query allocates; most requests have none
		chosen = r.URL.Query().Get("restaurant_id")
	}
	if p.Role != tenancy.SuperAdmin && chosen != "" && chosen != p.RestaurantID {
		s.crossTenantAttempt(ctx, r, p, chosen)
		return ctx, apperr.Errorf(apperr.Forbidden, "you may only act on your own restaurant")
	}
	var rid string
	switch rt.Scope {
	case NoTenant:
		if p.RestaurantID != "" {
			ctx = tenancy.WithTenant(ctx, p.RestaurantID)
		}
		return ctx, nil
	case TenantInPath:
		rid = r.PathValue("id")
		if p.Role != tenancy.SuperAdmin && rid != p.RestaurantID {
			s.crossTenantAttempt(ctx, r, p, rid)
			return ctx, apperr.Errorf(apperr.NotFound, "restaurant not found")
		}
		// An operator acting as one tenant does not see another through the path.
		if chosen != "" && chosen != rid {
			return ctx, apperr.Errorf(apperr.NotFound, "restaurant not found")
		}
	case TenantScoped, TenantOptional:
		rid = p.RestaurantID
		if p.Role == tenancy.SuperAdmin {
			if chosen == "" && rt.Scope == TenantOptional {
				return ctx, nil
			}
			if chosen == "" {
				return ctx, apperr.InvalidField(TenantHeader, "choose a restaurant with the %s header or the restaurant_id parameter", TenantHeader)
			}
			rid = chosen
		}
	}
	status := p.Status
	if rid != p.RestaurantID || status == "" {
		restaurant, err := s.DB.Restaurant(ctx, rid)
		if err != nil {
			return ctx, err
		}
		status = restaurant.Status
	}
	switch {
	case status == tenancy.Suspended && p.Role != tenancy.SuperAdmin:
		return ctx, apperr.Errorf(apperr.Forbidden, "restaurant is suspended")
	case status == tenancy.ReadOnly && rt.IsWrite() && !rt.Always:
		return ctx, apperr.Errorf(apperr.Locked, "restaurant is read-only; changes are refused until it is reactivated")
	}
	return tenancy.WithTenant(ctx, rid), nil
}

// crossTenantAttempt counts and records a pinned user's reach for another
// tenant. The event goes to the caller's own tenant: the target may not
// exist, and its log is not the caller's to write.
func (s *Server) crossTenantAttempt(ctx context.Context, r *http.Request, p tenancy.Principal, target string) {
	s.Metrics.CrossTenantAttempts.WithLabelValues(p.RestaurantID).Inc()
	s.Log.WarnContext(ctx, "cross-tenant access attempt", "user_id", p.UserID, "restaurant_id", p.RestaurantID,
		"requested_restaurant_id", target, "path", r.URL.Path, "ip", p.IP)
	s.Events.Record(ctx, p.RestaurantID, events.SecurityAlert, map[string]any{
		"alert":                   "cross_tenant_access",
		"user_id":                 p.UserID,
		"requested_restaurant_id": store.EscapeText(target),
		"method":                  r.Method,
		"path":                    store.EscapeText(r.URL.Path),
		"ip":                      p.IP,
	})
}

// bearerToken reads the credential: a bearer token, or (as OpenFeature
// providers send keys) an X-API-Key header.
func bearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	const prefix = "bearer "
	if len(h) <= len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) {
		if k := strings.TrimSpace(r.Header.Get(apiKeyHeaderKey)); k != "" && h == "" {
			return k, true
		}
		return "", false
	}
	return strings.TrimSpace(h[len(prefix):]), true
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
