// Package console is the admin web interface: server-rendered pages under
// /console for people, beside the JSON admin API for programs. It calls the
// product's services directly and applies the API's authorization: an admin
// sees only their own restaurant (another restaurant's pages are "not
// found"), a super_admin sees every restaurant and switches between them.
package console

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/analytics"
	"github.com/shimizu-tech/ordersuite/internal/apperr"
	"github.com/shimizu-tech/ordersuite/internal/auth"
	"github.com/shimizu-tech/ordersuite/internal/availability"
	"github.com/shimizu-tech/ordersuite/internal/backup"
	"github.com/shimizu-tech/ordersuite/internal/events"
	"github.com/shimizu-tech/ordersuite/internal/flags"
	"github.com/shimizu-tech/ordersuite/internal/jobs"
	"github.com/shimizu-tech/ordersuite/internal/metrics"
	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets
var assetFS embed.FS

// Cookie names.
const (
	sessionCookie = "ordersuite_session"
	loginCSRF     = "ordersuite_login_csrf"
	flashCookie   = "ordersuite_flash"
)

// Console serves the pages. Metrics and Events may be nil (no cross-tenant
// counting or alerts).
type Console struct {
	DB        *store.DB
	Auth      *auth.Service
	Flags     *flags.Service
	Analytics *analytics.Service
	Events    events.Sink
	Metrics   *metrics.Metrics
	Log       *slog.Logger
	// Backups and Jobs, when set, add the backup pages; Environments are
	// the migration targets.
	Backups      *backup.Service
	Jobs         *jobs.Queue
	Environments map[string]backup.Environment

	// Outages counts and logs the pages refused because the database was
	// unavailable; nil gives a reporter on Log and Metrics.
	Outages *availability.Reporter

	pages   map[string]*template.Template
	outages *availability.Reporter
}

// Handler returns the console's handler for /console/ and /assets/.
func (c *Console) Handler() http.Handler {
	c.pages = parsePages()
	c.outages = c.Outages
	if c.outages == nil {
		c.outages = &availability.Reporter{Log: c.Log, Metrics: c.Metrics}
	}
	mux := http.NewServeMux()
	assets, _ := fs.Sub(assetFS, "assets")
	files := http.StripPrefix("/assets/", http.FileServerFS(assets))
	mux.Handle("GET /assets/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(w, r)
	}))
	// Browsers ask for /favicon.ico whatever the page links; it is the
	// same picture.
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/svg+xml")
		w.Header().Set("Cache-Control", "public, max-age=86400")
		b, _ := fs.ReadFile(assets, "favicon.svg")
		_, _ = w.Write(b)
	})
	for _, p := range c.pageTable() {
		mux.Handle(p.Method+" "+p.Pattern, c.serve(p))
	}
	mux.HandleFunc("/console/", func(w http.ResponseWriter, r *http.Request) {
		c.render(w, r, http.StatusNotFound, "error", &view{Title: "Not found", Section: "error"}, notFoundPage())
	})
	mux.Handle("GET /console", http.RedirectHandler("/console/", http.StatusSeeOther))
	// Browsers mark every request with its origin; a cross-site form post
	// is refused before it reaches a handler, on top of the per-session token.
	return http.NewCrossOriginProtection().Handler(securityHeaders(mux))
}

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}

// Access says who may open a page and where its restaurant comes from.
type Access int

const (
	// Public pages need no session (login).
	Public Access = iota
	// Signed pages need a session of an admin or super_admin.
	Signed
	// Operator pages need a super_admin.
	Operator
	// Tenant pages name a restaurant as {rid}: an admin's own, any for a
	// super_admin.
	Tenant
	// TenantOperator pages are Tenant pages only a super_admin may use.
	TenantOperator
)

// Page is one line of the console's page table. The same table drives the
// mux and the isolation tests.
type Page struct {
	Method, Pattern string
	Access          Access
	Handler         func(c *Console, w http.ResponseWriter, r *http.Request, s *session) error
	// Always marks forms that still work on a read-only restaurant: backing
	// up and restoring are what one does in an emergency.
	Always bool
}

// Pages is the page table (exported for the tests that walk it).
func Pages() []Page { return (&Console{}).pageTable() }

func (c *Console) pageTable() []Page {
	return []Page{
		{"GET", "/console/login", Public, (*Console).loginPage, false},
		{"POST", "/console/login", Public, (*Console).login, false},
		{"POST", "/console/logout", Signed, (*Console).logout, false},
		{"GET", "/console/{$}", Signed, (*Console).home, false},
		{"GET", "/console/switch", Operator, (*Console).switchTenant, false},
		{"GET", "/console/security", Operator, (*Console).securityPage, false},
		{"GET", "/console/t/{rid}/{$}", Tenant, (*Console).tenantHome, false},
		{"GET", "/console/t/{rid}/flags", Tenant, (*Console).flagsPage, false},
		{"POST", "/console/t/{rid}/flags", TenantOperator, (*Console).createFlag, false},
		{"POST", "/console/t/{rid}/flags/set", TenantOperator, (*Console).setFlag, false},
		{"POST", "/console/t/{rid}/flags/{id}/delete", TenantOperator, (*Console).deleteFlag, false},
		{"GET", "/console/t/{rid}/sdk_keys", Tenant, (*Console).sdkKeysPage, false},
		{"POST", "/console/t/{rid}/sdk_keys", Tenant, (*Console).createSDKKey, false},
		{"POST", "/console/t/{rid}/sdk_keys/{id}/revoke", Tenant, (*Console).revokeSDKKey, false},
		{"GET", "/console/t/{rid}/analytics", Tenant, (*Console).analyticsPage, false},

		{"GET", "/console/t/{rid}/backups", Tenant, (*Console).backupsPage, false},
		{"POST", "/console/t/{rid}/backups/export", Tenant, (*Console).exportBackup, true},
		{"POST", "/console/t/{rid}/backups/clone", TenantOperator, (*Console).cloneTenant, true},
		{"POST", "/console/t/{rid}/backups/point-in-time", TenantOperator, (*Console).restorePointInTime, true},
		{"GET", "/console/t/{rid}/backups/{bid}/validate", TenantOperator, (*Console).validateBackup, false},
		{"GET", "/console/t/{rid}/backups/{bid}/download", TenantOperator, (*Console).downloadBackup, false},
		{"POST", "/console/t/{rid}/backups/{bid}/restore", TenantOperator, (*Console).restoreBackup, true},
		{"POST", "/console/t/{rid}/backups/{bid}/migrate", TenantOperator, (*Console).migrateBackup, true},
		{"POST", "/console/t/{rid}/backups/{bid}/delete", TenantOperator, (*Console).deleteBackup, true},
		{"GET", "/console/t/{rid}/jobs/{job_id}", Tenant, (*Console).jobPage, false},
		{"GET", "/console/t/{rid}/jobs/{job_id}/status", Tenant, (*Console).jobStatus, false},
		{"GET", "/console/jobs/{job_id}", Operator, (*Console).jobPage, false},
		{"GET", "/console/jobs/{job_id}/status", Operator, (*Console).jobStatus, false},
	}
}

// session is the signed-in user of a request and the restaurant it acts on.
type session struct {
	P           tenancy.Principal
	User        tenancy.User
	Token       string
	CSRF        string
	Restaurant  tenancy.Restaurant   // zero outside tenant pages
	Restaurants []tenancy.Restaurant // for the operator's switcher
	Backups     bool                 // the backup pages are configured
}

func (s *session) Super() bool { return s.P.Role == tenancy.SuperAdmin }

// ctx is the request context with the principal and, on tenant pages, the
// restaurant.
func (s *session) ctx(r *http.Request) context.Context {
	ctx := tenancy.WithPrincipal(r.Context(), s.P)
	if s.Restaurant.ID != "" {
		ctx = tenancy.WithTenant(ctx, s.Restaurant.ID)
	}
	return ctx
}

// serve wraps a page with the session, CSRF and tenant checks and turns
// errors into pages.
func (c *Console) serve(p Page) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := c.authorize(p, w, r)
		if err == nil {
			err = p.Handler(c, w, r, s)
		}
		if err != nil {
			c.fail(w, r, s, err)
		}
	})
}

var errSignIn = errors.New("console: sign in")

func (c *Console) authorize(p Page, w http.ResponseWriter, r *http.Request) (*session, error) {
	if p.Access == Public {
		return nil, nil
	}
	s, err := c.session(r)
	if err != nil {
		return nil, err
	}
	if r.Method == http.MethodPost && !validCSRF(s.CSRF, r.PostFormValue("csrf")) {
		return s, apperr.Errorf(apperr.Forbidden, "the form has expired or did not come from this console; reload the page and try again")
	}
	if s.Super() {
		if s.Restaurants, err = c.DB.Restaurants(r.Context()); err != nil {
			return s, err
		}
	}
	switch p.Access {
	case Operator:
		if !s.Super() {
			return s, notFoundPage()
		}
	case Tenant, TenantOperator:
		rid := r.PathValue("rid")
		if !store.ValidID(rid) {
			return s, notFoundPage()
		}
		if !s.Super() && rid != s.P.RestaurantID {
			c.crossTenantAttempt(r, s, rid)
			return s, notFoundPage()
		}
		if s.Restaurant, err = c.DB.Restaurant(r.Context(), rid); err != nil {
			return s, err
		}
		if p.Access == TenantOperator && !s.Super() {
			return s, apperr.Errorf(apperr.Forbidden, "only a platform operator may change this; ask your operator")
		}
		if r.Method == http.MethodPost && s.Restaurant.Status == tenancy.ReadOnly && !p.Always {
			return s, apperr.Errorf(apperr.Locked, "%s is read-only: changes are refused until it is reactivated", s.Restaurant.Name)
		}
	}
	return s, nil
}

// session reads the signed-in user from the session cookie: the same token
// the API takes, so logout and every kind of revocation work the same.
func (c *Console) session(r *http.Request) (*session, error) {
	ck, err := r.Cookie(sessionCookie)
	if err != nil || ck.Value == "" {
		return nil, errSignIn
	}
	p, err := c.Auth.Authenticate(r.Context(), ck.Value)
	if store.Unavailable(err) {
		return nil, err // the session may be fine; the database cannot tell now
	}
	if err != nil {
		return nil, errSignIn
	}
	if p.Role != tenancy.SuperAdmin && p.Role != tenancy.Admin {
		return nil, errSignIn
	}
	p.IP = clientIP(r)
	s := &session{P: p, Token: ck.Value, CSRF: c.csrfToken(p.TokenID), Backups: c.Backups != nil && c.Jobs != nil}
	ctx := tenancy.WithTenant(r.Context(), p.RestaurantID)
	if s.Super() {
		s.User, err = c.DB.SuperAdmin(ctx, p.UserID)
	} else {
		s.User, err = c.DB.User(ctx, p.UserID)
	}
	if store.Unavailable(err) {
		return nil, err
	}
	if err != nil {
		return nil, errSignIn
	}
	return s, nil
}

// csrfToken binds a form to the session: an HMAC of the token's id, so it
// needs no storage and dies with the session.
func (c *Console) csrfToken(jti string) string {
	m := hmac.New(sha256.New, c.Auth.Secret)
	m.Write([]byte("console-csrf:" + jti))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func validCSRF(want, got string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(want), []byte(got)) == 1
}

func (c *Console) crossTenantAttempt(r *http.Request, s *session, target string) {
	if c.Metrics != nil {
		c.Metrics.CrossTenantAttempts.WithLabelValues(s.P.RestaurantID).Inc()
	}
	c.Log.WarnContext(r.Context(), "cross-tenant access attempt", "user_id", s.P.UserID, "restaurant_id", s.P.RestaurantID,
		"requested_restaurant_id", target, "path", r.URL.Path, "ip", s.P.IP)
	if c.Events != nil {
		c.Events.Record(r.Context(), s.P.RestaurantID, events.SecurityAlert, map[string]any{
			"alert": "cross_tenant_access", "user_id": s.P.UserID, "requested_restaurant_id": target,
			"method": r.Method, "path": r.URL.Path, "ip": s.P.IP,
		})
	}
}

// notFoundPage is the one answer for a page that does not exist and a
// restaurant the user may not see, so existence does not leak.
func notFoundPage() error {
	return apperr.Errorf(apperr.NotFound, "There is no such page, or it is not yours to see.")
}

// fail shows an error as a page: sign-in for a missing session, the
// message in words for the errors the user can act on, and a generic
// sentence (with the details only in the log) for the rest.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, s *session, err error) {
	if errors.Is(err, errSignIn) {
		if r.Method == http.MethodGet {
			http.Redirect(w, r, "/console/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		c.render(w, r, http.StatusUnauthorized, "error", &view{Title: "Signed out", Section: "error"},
			apperr.Errorf(apperr.Unauthorized, "Your session has ended. Sign in again."))
		return
	}
	if apperr.Is(err, apperr.Unavailable) || (apperr.CodeOf(err) == apperr.Internal && store.Unavailable(err)) {
		c.unavailable(w, r, s, err)
		return
	}
	status := http.StatusInternalServerError
	title := "Something went wrong"
	var ae *apperr.Error
	if errors.As(err, &ae) {
		switch ae.Code {
		case apperr.Invalid:
			status, title = http.StatusUnprocessableEntity, "Check the form"
		case apperr.NotFound:
			status, title = http.StatusNotFound, "Not found"
		case apperr.Forbidden:
			status, title = http.StatusForbidden, "Not allowed"
		case apperr.Locked:
			status, title = http.StatusLocked, "Read-only"
		case apperr.Conflict:
			status, title = http.StatusConflict, "Conflict"
		case apperr.Unauthorized:
			status, title = http.StatusUnauthorized, "Signed out"
		}
	}
	if status == http.StatusInternalServerError {
		c.Log.ErrorContext(r.Context(), "console page failed", "path", r.URL.Path, "err", err)
		err = errors.New("The server could not complete this request. The error was logged; try again in a moment.")
	}
	c.render(w, r, status, "error", &view{Title: title, Section: "error", Session: s}, err)
}

// unavailableRefresh is how often the "database unavailable" page reloads
// itself, in seconds.
const unavailableRefresh = 5

// unavailable answers 503 with a page that says the database is away and
// reloads itself, instead of an error page: nothing is wrong with the
// request, and it will work once the database is back. A page reached by
// a form reloads the console's home, so the form is not sent twice.
func (c *Console) unavailable(w http.ResponseWriter, r *http.Request, s *session, err error) {
	c.outages.Report(r.Context(), "console", err, "path", r.URL.Path)
	target := r.URL.RequestURI()
	if r.Method != http.MethodGet {
		target = "/console/"
	}
	w.Header().Set("Retry-After", strconv.Itoa(unavailableRefresh))
	c.render(w, r, http.StatusServiceUnavailable, "unavailable", &view{Title: "Database unavailable, retrying",
		Section: "error", Session: s, Refresh: unavailableRefresh, RefreshURL: target}, nil)
}

// view is what every page template gets.
type view struct {
	Title   string
	Section string
	Session *session
	Flash   string
	Error   string
	Data    any
	// Refresh, when set, reloads RefreshURL after that many seconds.
	Refresh    int
	RefreshURL string
}

func parsePages() map[string]*template.Template {
	base := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html"))
	names, _ := fs.Glob(templateFS, "templates/*.html")
	out := map[string]*template.Template{}
	for _, n := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if name == "layout" {
			continue
		}
		out[name] = template.Must(template.Must(base.Clone()).ParseFS(templateFS, n))
	}
	return out
}

// render writes a page. err, when set, is shown as the page's error line.
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, page string, v *view, err error) {
	if err != nil {
		var ae *apperr.Error
		if errors.As(err, &ae) {
			v.Error = ae.Message
			if ae.Field != "" {
				v.Error = ae.Field + ": " + ae.Message
			}
		} else {
			v.Error = err.Error()
		}
	}
	if v.Flash == "" {
		v.Flash = takeFlash(w, r)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if err := c.pages[page].ExecuteTemplate(w, "layout.html", v); err != nil {
		c.Log.ErrorContext(r.Context(), "render console page", "page", page, "err", err)
	}
}

// setFlash leaves a one-time message for the page after a redirect.
func setFlash(w http.ResponseWriter, r *http.Request, msg string) {
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: base64.RawURLEncoding.EncodeToString([]byte(msg)),
		Path: "/console/", HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteLaxMode, MaxAge: 60})
}

func takeFlash(w http.ResponseWriter, r *http.Request) string {
	ck, err := r.Cookie(flashCookie)
	if err != nil {
		return ""
	}
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Path: "/console/", MaxAge: -1, HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteLaxMode})
	b, err := base64.RawURLEncoding.DecodeString(ck.Value)
	if err != nil || len(b) > 500 {
		return ""
	}
	return string(b)
}

// redirect answers a successful form with a redirect and a message
// (post/redirect/get, so reloading does not repeat the change).
func redirect(w http.ResponseWriter, r *http.Request, to, flash string) error {
	if flash != "" {
		setFlash(w, r, flash)
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// loginPage shows the form; a signed-in user goes straight home.
func (c *Console) loginPage(w http.ResponseWriter, r *http.Request, _ *session) error {
	if _, err := c.session(r); err == nil {
		return redirect(w, r, safeNext(r.URL.Query().Get("next")), "")
	}
	c.showLogin(w, r, http.StatusOK, loginForm{Next: r.URL.Query().Get("next")}, nil)
	return nil
}

type loginForm struct {
	Email, Next, CSRF string
	// Ticket and Choices are the second step, once the password verified in
	// several restaurants: the person picks one by name.
	Ticket  string
	Choices []auth.Account
}

// newLoginToken binds the next sign-in form to a random cookie (double
// submit): before a session exists there is nothing else to bind it to.
func newLoginToken(w http.ResponseWriter, r *http.Request) string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	token := base64.RawURLEncoding.EncodeToString(b)
	http.SetCookie(w, &http.Cookie{Name: loginCSRF, Value: token, Path: "/console/login", HttpOnly: true,
		Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode, MaxAge: 3600})
	return token
}

// showLogin renders the form with a fresh login token.
func (c *Console) showLogin(w http.ResponseWriter, r *http.Request, status int, f loginForm, err error) {
	f.CSRF, f.Ticket, f.Choices = newLoginToken(w, r), "", nil
	c.render(w, r, status, "login", &view{Title: "Sign in", Data: f}, err)
}

// showChoice is the second step: the restaurants where the password
// verified, by name. The ticket stands for the verified password and is
// bound to this browser's new login token, so the password is not sent
// (nor kept in the page) again.
func (c *Console) showChoice(w http.ResponseWriter, r *http.Request, f loginForm, choose *auth.ChooseRestaurant) error {
	f.CSRF = newLoginToken(w, r)
	ticket, err := c.Auth.ChoiceTicket(choose, f.CSRF)
	if err != nil {
		return err
	}
	f.Email, f.Ticket, f.Choices = choose.Email, ticket, choose.Accounts
	c.render(w, r, http.StatusOK, "login", &view{Title: "Choose a restaurant", Data: f}, nil)
	return nil
}

func (c *Console) login(w http.ResponseWriter, r *http.Request, _ *session) error {
	f := loginForm{Email: strings.TrimSpace(r.PostFormValue("email")), Next: r.PostFormValue("next")}
	ck, err := r.Cookie(loginCSRF)
	if err != nil || !validCSRF(ck.Value, r.PostFormValue("csrf")) {
		c.showLogin(w, r, http.StatusForbidden, f, errors.New("The sign-in form had expired. Please try again."))
		return nil
	}
	var u tenancy.User
	if ticket := r.PostFormValue("ticket"); ticket != "" {
		u, err = c.Auth.LoginWithTicket(r.Context(), ticket, ck.Value, r.PostFormValue("restaurant_id"))
	} else {
		if th := c.Auth.Throttle; th != nil && f.Email != "" {
			var t *auth.Throttled
			if err := th.CheckLogin(r.Context(), f.Email, clientIP(r)); errors.As(err, &t) {
				if c.Metrics != nil {
					c.Metrics.LoginThrottled.WithLabelValues("console", t.Kind).Inc()
				}
				c.Log.WarnContext(r.Context(), "console sign-in throttled", "kind", t.Kind, "ip", clientIP(r))
				w.Header().Set("Retry-After", strconv.Itoa(t.RetrySeconds()))
				c.showLogin(w, r, http.StatusTooManyRequests, f,
					fmt.Errorf("Too many failed sign-ins. Please try again in %d seconds.", t.RetrySeconds()))
				return nil
			} else if err != nil {
				return err
			}
		}
		u, err = c.Auth.Login(r.Context(), f.Email, r.PostFormValue("password"), "")
		if auth.IsBadCredentials(err) && c.Auth.Throttle != nil {
			if _, _, ferr := c.Auth.Throttle.LoginFailed(r.Context(), f.Email, clientIP(r), 0); ferr != nil {
				c.Log.ErrorContext(r.Context(), "login throttle: record failure", "err", ferr)
			}
		}
	}
	var choose *auth.ChooseRestaurant
	if errors.As(err, &choose) {
		// The console is for administrators: only those accounts are offered,
		// and when one remains it is the sign-in.
		admins := &auth.ChooseRestaurant{Email: choose.Email}
		for _, a := range choose.Accounts {
			if a.Role == tenancy.Admin {
				admins.Accounts = append(admins.Accounts, a)
			}
		}
		if len(admins.Accounts) > 1 {
			return c.showChoice(w, r, f, admins)
		}
		pick := choose.Accounts[0] // no admin among them: refused below, in words
		if len(admins.Accounts) == 1 {
			pick = admins.Accounts[0]
		}
		u, _ = choose.User(pick.RestaurantID)
		err = nil
	}
	if err != nil {
		var ae *apperr.Error
		switch {
		case auth.IsBadCredentials(err):
			c.Log.WarnContext(r.Context(), "failed console login", "ip", clientIP(r))
			err = errors.New("The e-mail or password is wrong.")
		case errors.Is(err, auth.ErrChoiceExpired):
			c.Log.WarnContext(r.Context(), "console login: restaurant choice refused", "ip", clientIP(r))
			err = errors.New("The choice of restaurant has expired. Please enter your password again.")
		case errors.As(err, &ae) && ae.Field == "restaurant_id":
			err = errors.New("That restaurant was not one of those offered. Please sign in again.")
		case errors.As(err, &ae) && ae.Code == apperr.Invalid:
			err = fmt.Errorf("Enter your %s.", ae.Field)
		case errors.As(err, &ae) && ae.Code == apperr.Forbidden:
			err = errors.New("Your restaurant is suspended; contact the platform operator.")
		default:
			return err
		}
		c.showLogin(w, r, http.StatusUnauthorized, f, err)
		return nil
	}
	if u.Role != tenancy.SuperAdmin && u.Role != tenancy.Admin {
		c.showLogin(w, r, http.StatusForbidden, f, errors.New("The console is for restaurant administrators and platform operators; your account cannot sign in here."))
		return nil
	}
	token, claims, err := c.Auth.Issue(u)
	if err != nil {
		return err
	}
	if u.RestaurantID != "" && c.Events != nil {
		c.Events.Record(r.Context(), u.RestaurantID, events.UserLogin, map[string]any{"user_id": u.ID, "role": u.Role, "ip": clientIP(r)})
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: token, Path: "/", HttpOnly: true, Secure: r.TLS != nil,
		SameSite: http.SameSiteLaxMode, Expires: claims.ExpiresAt.Time})
	http.SetCookie(w, &http.Cookie{Name: loginCSRF, Path: "/console/login", MaxAge: -1})
	return redirect(w, r, safeNext(f.Next), "")
}

// safeNext keeps a redirect after login inside the console.
func safeNext(next string) string {
	if strings.HasPrefix(next, "/console/") && !strings.HasPrefix(next, "//") && !strings.ContainsAny(next, "\\\r\n") {
		return next
	}
	return "/console/"
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request, s *session) error {
	if err := c.Auth.Logout(r.Context(), s.P); err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Path: "/", MaxAge: -1, HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteLaxMode})
	return redirect(w, r, "/console/login", "You are signed out.")
}

// home is the operator's list of restaurants, or an admin's own restaurant.
func (c *Console) home(w http.ResponseWriter, r *http.Request, s *session) error {
	if !s.Super() {
		return redirect(w, r, "/console/t/"+s.P.RestaurantID+"/", "")
	}
	o, err := c.Analytics.Overview(r.Context())
	if err != nil {
		return err
	}
	c.render(w, r, http.StatusOK, "home", &view{Title: "Restaurants", Section: "home", Session: s, Data: o}, nil)
	return nil
}

// switchTenant is the operator's restaurant switcher: a plain GET form, so
// it works without script.
func (c *Console) switchTenant(w http.ResponseWriter, r *http.Request, s *session) error {
	rid := r.URL.Query().Get("restaurant_id")
	section := r.URL.Query().Get("section")
	if section != "flags" && section != "analytics" && section != "backups" {
		section = "analytics"
	}
	if !store.ValidID(rid) {
		return notFoundPage()
	}
	if _, err := c.DB.Restaurant(r.Context(), rid); err != nil {
		return err
	}
	return redirect(w, r, "/console/t/"+rid+"/"+section, "")
}

func (c *Console) tenantHome(w http.ResponseWriter, r *http.Request, s *session) error {
	return redirect(w, r, "/console/t/"+s.Restaurant.ID+"/analytics", "")
}

// since formats how long ago t was, for tables.
func since(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h ago", int(d.Hours()))
	}
	return fmt.Sprintf("%d days ago", int(d.Hours()/24))
}

// securityData is the operator's security page: recent sign-in throttles
// and a page of the platform's audit trail.
type securityData struct {
	Throttles  []store.LoginThrottle
	Audit      []store.AuditEntry
	NextCursor string
}

// securityPage shows the throttles closed in the last 24 hours (failed
// sign-in bursts) and the platform's audit trail, newest first; "Older"
// follows the trail by cursor.
func (c *Console) securityPage(w http.ResponseWriter, r *http.Request, s *session) error {
	throttles, err := c.DB.LoginThrottles(r.Context(), c.DB.Now().Add(-24*time.Hour), 100)
	if err != nil {
		return err
	}
	var f store.PlatformAuditFilter
	if cur := r.URL.Query().Get("before"); cur != "" {
		ts, id, ok := strings.Cut(cur, "|")
		at, perr := time.Parse(time.RFC3339Nano, ts)
		if !ok || perr != nil || !store.ValidID(id) {
			return notFoundPage()
		}
		f.AfterTime, f.AfterID = at, id
	}
	const perPage = 50
	entries, err := c.DB.PlatformAuditLog(r.Context(), f, perPage+1)
	if err != nil {
		return err
	}
	d := securityData{Throttles: throttles}
	if len(entries) > perPage {
		entries = entries[:perPage]
		last := entries[perPage-1]
		d.NextCursor = last.CreatedAt.Format(time.RFC3339Nano) + "|" + last.ID
	}
	d.Audit = entries
	c.render(w, r, http.StatusOK, "security", &view{Title: "Security", Section: "security", Session: s, Data: d}, nil)
	return nil
}
