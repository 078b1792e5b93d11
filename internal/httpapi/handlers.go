package httpapi

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/apperr"
	"github.com/shimizu-tech/ordersuite/internal/auth"
	"github.com/shimizu-tech/ordersuite/internal/events"
	"github.com/shimizu-tech/ordersuite/internal/money"
	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

func (s *Server) health(w http.ResponseWriter, _ *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

// ready answers 200 only when the database answers and its schema is
// current, so a load balancer sends no traffic to an instance that would fail.
// With a Readiness monitor it answers from the monitor's last check, at
// once; without one it asks the database.
func (s *Server) ready(w http.ResponseWriter, r *http.Request) error {
	if s.Readiness != nil {
		st := s.Readiness.State()
		checks := map[string]string{"database": "ok", "migrations": "ok"}
		status, state := http.StatusOK, "ready"
		switch {
		case !st.Checked:
			checks["database"] = "unknown"
		case !st.DatabaseUp:
			checks["database"] = "unreachable"
		case !st.SchemaCurrent:
			checks["migrations"] = "outdated"
		}
		if !st.Ready() {
			status, state = http.StatusServiceUnavailable, "not_ready"
			w.Header().Set("Retry-After", strconv.Itoa(RetryAfterSeconds))
		}
		writeJSON(w, status, map[string]any{"status": state, "checks": checks, "since": st.Since.UTC().Format(time.RFC3339Nano)})
		return nil
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	checks := map[string]string{"database": "ok", "migrations": "ok"}
	status := http.StatusOK
	if err := s.DB.Ping(ctx); err != nil {
		checks["database"], status = "unreachable", http.StatusServiceUnavailable
		s.Log.WarnContext(ctx, "readiness: database unreachable", "err", err)
	} else if err := s.DB.CheckSchema(ctx); err != nil {
		checks["migrations"], status = "outdated", http.StatusServiceUnavailable
	}
	state := "ready"
	if status != http.StatusOK {
		state = "not_ready"
	}
	writeJSON(w, status, map[string]any{"status": state, "checks": checks})
	return nil
}

type loginRequest struct {
	Email        string `json:"email"`
	Password     string `json:"password"`
	RestaurantID string `json:"restaurant_id"`
}

type loginResponse struct {
	JWT       string       `json:"jwt"`
	ExpiresAt time.Time    `json:"expires_at"`
	User      tenancy.User `json:"user"`
}

// chooseRestaurantCode marks the answer to a verified password that
// belongs to several restaurants; it is a 409 because the request is right
// but cannot be completed until the caller picks one.
const chooseRestaurantCode apperr.Code = "choose_restaurant"

type chooseRestaurantBody struct {
	Error       errorDetail    `json:"error"`
	Restaurants []auth.Account `json:"restaurants"`
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	var req loginRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if th := s.Auth.Throttle; th != nil && req.Email != "" {
		if err := th.CheckLogin(r.Context(), req.Email, clientIP(r)); err != nil {
			s.loginThrottled(r, "api", err)
			return err
		}
	}
	u, err := s.Auth.Login(r.Context(), req.Email, req.Password, req.RestaurantID)
	if auth.IsBadCredentials(err) {
		s.Metrics.LoginFailures.Inc()
		s.Log.WarnContext(r.Context(), "failed login", "ip", clientIP(r))
		s.failedLogin(r, req.Email, req.RestaurantID)
	}
	var choose *auth.ChooseRestaurant
	if errors.As(err, &choose) {
		writeJSON(w, http.StatusConflict, chooseRestaurantBody{
			Error: errorDetail{Code: chooseRestaurantCode, Field: "restaurant_id",
				Message: "this email belongs to several restaurants; log in again with the restaurant_id of one of them"},
			Restaurants: choose.Accounts,
		})
		return nil
	}
	if err != nil {
		return err
	}
	token, claims, err := s.Auth.Issue(u)
	if err != nil {
		return err
	}
	if u.RestaurantID != "" {
		s.Events.Record(r.Context(), u.RestaurantID, events.UserLogin, map[string]any{
			"user_id": u.ID, "role": u.Role, "ip": clientIP(r),
		})
	}
	writeJSON(w, http.StatusOK, loginResponse{JWT: token, ExpiresAt: claims.ExpiresAt.Time, User: u})
	return nil
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	p, _ := tenancy.PrincipalFrom(r.Context())
	if err := s.Auth.Logout(r.Context(), p); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) me(w http.ResponseWriter, r *http.Request) error {
	p, _ := tenancy.PrincipalFrom(r.Context())
	u, err := s.Auth.User(r.Context(), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct {
		User tenancy.User `json:"user"`
	}{u})
	return nil
}

func (s *Server) listRestaurants(w http.ResponseWriter, r *http.Request) error {
	list, err := s.DB.Restaurants(r.Context())
	if err != nil {
		return err
	}
	if list == nil {
		list = []tenancy.Restaurant{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"restaurants": list})
	return nil
}

var prefixPattern = regexp.MustCompile(`^[A-Z0-9]{2,8}$`)

type restaurantRequest struct {
	Name     *string `json:"name"`
	Prefix   *string `json:"prefix"`
	Currency *string `json:"currency"`
}

func (req restaurantRequest) validate(creating bool) error {
	if req.Name != nil || creating {
		if req.Name == nil {
			return apperr.InvalidField("name", "is required")
		}
		if err := requireString("name", *req.Name, 200); err != nil {
			return err
		}
	}
	if req.Prefix != nil && !prefixPattern.MatchString(*req.Prefix) {
		return apperr.InvalidField("prefix", "must be 2 to 8 capital letters or digits")
	}
	if req.Currency != nil {
		if _, err := money.ParseCurrency(*req.Currency); err != nil {
			return apperr.InvalidField("currency", "%s", err.Error())
		}
	}
	return nil
}

// DerivePrefix makes an order-number prefix from a restaurant name.
func DerivePrefix(name string) string {
	var b strings.Builder
	for _, word := range strings.Fields(strings.ToUpper(name)) {
		for _, c := range word {
			if (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') {
				b.WriteRune(c)
				break
			}
		}
		if b.Len() == 4 {
			break
		}
	}
	for b.Len() < 2 {
		b.WriteByte('R')
	}
	return b.String()
}

func (s *Server) createRestaurant(w http.ResponseWriter, r *http.Request) error {
	var req restaurantRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := req.validate(true); err != nil {
		return err
	}
	prefix := DerivePrefix(*req.Name)
	if req.Prefix != nil {
		prefix = *req.Prefix
	}
	rest, err := s.DB.CreateRestaurant(r.Context(), strings.TrimSpace(*req.Name), prefix)
	if err != nil {
		return err
	}
	s.Metrics.InitTenant(rest.ID, rest.Currency)
	writeJSON(w, http.StatusCreated, map[string]any{"restaurant": rest})
	return nil
}

func (s *Server) getRestaurant(w http.ResponseWriter, r *http.Request) error {
	rid, _ := tenancy.Tenant(r.Context())
	rest, err := s.DB.Restaurant(r.Context(), rid)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"restaurant": rest})
	return nil
}

func (s *Server) updateRestaurant(w http.ResponseWriter, r *http.Request) error {
	var req restaurantRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := req.validate(false); err != nil {
		return err
	}
	rest, err := s.DB.UpdateRestaurant(r.Context(), store.RestaurantPatch{Name: req.Name, Prefix: req.Prefix, Currency: req.Currency})
	if err != nil {
		return err
	}
	if req.Currency != nil {
		s.Metrics.InitTenant(rest.ID, rest.Currency)
	}
	writeJSON(w, http.StatusOK, map[string]any{"restaurant": rest})
	return nil
}

func (s *Server) setRestaurantStatus(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Status tenancy.Status `json:"status"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if !req.Status.Valid() {
		return apperr.InvalidField("status", "must be one of active, read_only, suspended")
	}
	rest, err := s.DB.SetRestaurantStatus(r.Context(), req.Status)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"restaurant": rest})
	return nil
}

func (s *Server) revokeRestaurantTokens(w http.ResponseWriter, r *http.Request) error {
	if err := s.DB.RevokeTenantTokens(r.Context()); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"revoked": true})
	return nil
}

type userRequest struct {
	Email    *string       `json:"email"`
	Name     *string       `json:"name"`
	Role     *tenancy.Role `json:"role"`
	Password *string       `json:"password"`
}

var emailPattern = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)

func (req userRequest) validate(creating bool) error {
	if creating {
		switch {
		case req.Email == nil:
			return apperr.InvalidField("email", "is required")
		case req.Role == nil:
			return apperr.InvalidField("role", "is required")
		case req.Password == nil:
			return apperr.InvalidField("password", "is required")
		}
	}
	if req.Email != nil && (len(*req.Email) > 254 || !emailPattern.MatchString(strings.TrimSpace(*req.Email))) {
		return apperr.InvalidField("email", "must be an e-mail address")
	}
	if req.Name != nil && len(*req.Name) > 200 {
		return apperr.InvalidField("name", "must be at most 200 characters")
	}
	if req.Role != nil && (*req.Role == tenancy.SuperAdmin || !req.Role.Valid()) {
		return apperr.InvalidField("role", "must be one of admin, staff, customer")
	}
	return nil
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) error {
	pg, err := readPage(r)
	if err != nil {
		return err
	}
	users, total, err := s.DB.Users(r.Context(), pg.PerPage, pg.offset())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": users, "page": pg.Page, "per_page": pg.PerPage, "total": total})
	return nil
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request) error {
	var req userRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := req.validate(true); err != nil {
		return err
	}
	hash, err := auth.HashPassword(*req.Password)
	if err != nil {
		return err
	}
	u := tenancy.User{Email: *req.Email, Role: *req.Role, PasswordHash: hash}
	if req.Name != nil {
		u.Name = *req.Name
	}
	u, err = s.DB.CreateUser(r.Context(), u)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"user": u})
	return nil
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request) error {
	u, err := s.DB.User(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"user": u})
	return nil
}

func (s *Server) updateUser(w http.ResponseWriter, r *http.Request) error {
	var req userRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := req.validate(false); err != nil {
		return err
	}
	patch := store.UserPatch{Name: req.Name, Email: req.Email, Role: req.Role}
	if req.Password != nil {
		hash, err := auth.HashPassword(*req.Password)
		if err != nil {
			return err
		}
		patch.PasswordHash = &hash
	}
	u, err := s.DB.UpdateUser(r.Context(), r.PathValue("id"), patch)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"user": u})
	return nil
}

func (s *Server) deleteUser(w http.ResponseWriter, r *http.Request) error {
	p, _ := tenancy.PrincipalFrom(r.Context())
	if r.PathValue("id") == p.UserID {
		return apperr.Errorf(apperr.Conflict, "you cannot delete your own account")
	}
	if err := s.DB.DeleteUser(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) revokeUserTokens(w http.ResponseWriter, r *http.Request) error {
	if err := s.DB.RevokeUserTokens(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"revoked": true})
	return nil
}

func (s *Server) auditLog(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	switch q.Get("scope") {
	case "platform":
		return s.platformAuditLog(w, r)
	case "", "tenant":
	default:
		return apperr.InvalidField("scope", "must be tenant or platform")
	}
	for _, name := range []string{"actor_id", "action", "from", "to", "cursor"} {
		if q.Has(name) {
			return apperr.InvalidField(name, "applies to scope=platform only")
		}
	}
	if _, ok := tenancy.Tenant(r.Context()); !ok {
		return apperr.InvalidField(TenantHeader, "choose a restaurant with the %s header or the restaurant_id parameter, or read scope=platform", TenantHeader)
	}
	pg, err := readPage(r)
	if err != nil {
		return err
	}
	entries, err := s.DB.AuditLog(r.Context(), pg.PerPage, pg.offset())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"entries": entries, "page": pg.Page, "per_page": pg.PerPage})
	return nil
}

// platformAuditLog answers GET /admin/audit_log?scope=platform: changes to
// the platform itself, for operators only, newest first, a page at a time
// with next_cursor leading to the following page.
func (s *Server) platformAuditLog(w http.ResponseWriter, r *http.Request) error {
	p, _ := tenancy.PrincipalFrom(r.Context())
	if p.Role != tenancy.SuperAdmin {
		return apperr.Errorf(apperr.Forbidden, "the platform's audit trail is for platform operators")
	}
	q := r.URL.Query()
	f := store.PlatformAuditFilter{ActorID: q.Get("actor_id"), Action: q.Get("action")}
	if f.ActorID != "" && !store.ValidID(f.ActorID) {
		return apperr.InvalidField("actor_id", "must be an id")
	}
	if len(f.Action) > 100 {
		return apperr.InvalidField("action", "must be at most 100 characters")
	}
	for _, t := range []struct {
		name string
		dst  *time.Time
	}{{"from", &f.From}, {"to", &f.To}} {
		if v := q.Get(t.name); v != "" {
			parsed, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return apperr.InvalidField(t.name, "must be an RFC 3339 time")
			}
			*t.dst = parsed
		}
	}
	if c := q.Get("cursor"); c != "" {
		at, id, ok := parseAuditCursor(c)
		if !ok {
			return apperr.InvalidField("cursor", "is not a cursor this API gave out")
		}
		f.AfterTime, f.AfterID = at, id
	}
	perPage := 25
	if v := q.Get("per_page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPerPage {
			return apperr.InvalidField("per_page", "must be an integer from 1 to %d", maxPerPage)
		}
		perPage = n
	}
	entries, err := s.DB.PlatformAuditLog(r.Context(), f, perPage+1)
	if err != nil {
		return err
	}
	body := map[string]any{"scope": "platform", "per_page": perPage}
	if len(entries) > perPage {
		entries = entries[:perPage]
		last := entries[len(entries)-1]
		body["next_cursor"] = auditCursor(last.CreatedAt, last.ID)
	}
	body["entries"] = entries
	writeJSON(w, http.StatusOK, body)
	return nil
}

// auditCursor names a position in the audit trail: the time and id of the
// last entry seen.
func auditCursor(at time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(at.UTC().Format(time.RFC3339Nano) + "|" + id))
}

func parseAuditCursor(c string) (time.Time, string, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return time.Time{}, "", false
	}
	ts, id, ok := strings.Cut(string(raw), "|")
	at, err := time.Parse(time.RFC3339Nano, ts)
	if !ok || err != nil || !store.ValidID(id) {
		return time.Time{}, "", false
	}
	return at, id, true
}
