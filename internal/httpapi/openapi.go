package httpapi

import (
	"encoding/json"
	"net/http"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/apperr"
	"github.com/shimizu-tech/ordersuite/internal/backup"
	"github.com/shimizu-tech/ordersuite/internal/customers"
	"github.com/shimizu-tech/ordersuite/internal/jobs"
	"github.com/shimizu-tech/ordersuite/internal/loyalty"
	"github.com/shimizu-tech/ordersuite/internal/notify"
	"github.com/shimizu-tech/ordersuite/internal/ordering"
	"github.com/shimizu-tech/ordersuite/internal/payments"
	"github.com/shimizu-tech/ordersuite/internal/reservations"
	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// The OpenAPI 3 description of the API is built from the route table and
// the Go types the handlers read and write, once, inside the binary, so it
// cannot drift from what the server does.

func openapiRoutes() []Route {
	return []Route{{Method: "GET", Pattern: "/api/openapi.json", Handler: (*Server).openapi}}
}

var (
	specOnce sync.Once
	specJSON []byte
)

func (s *Server) openapi(w http.ResponseWriter, _ *http.Request) error {
	specOnce.Do(func() {
		specJSON, _ = json.MarshalIndent(OpenAPI(s.Version), "", "  ")
	})
	w.Header().Set("Content-Type", "application/json")
	_, err := w.Write(specJSON)
	return err
}

// shape is the hand-written part of one route's description: what it reads
// and answers. Everything the Route itself says — security, 401/403, path
// parameters, the tenant header, 404 for the tenant, 423 for read-only
// tenants — is derived from the Route, so a shape states only what the
// handler decides.
type shape struct {
	summary string
	body    any // a value of the request body's type; nil for none
	status  int // the success status
	key     string
	out     any // a value of the answered record's type (or a rawSchema); nil for no body
	list    bool
	filters map[string]filterKind
	// other answers a client must handle beyond success and the error
	// envelope, by status; a nil value is an answer without a body
	other map[int]any
	// errors are the error statuses the handler itself answers beyond those
	// the Route implies (e.g. 409 for a conflict, 401 for a bad password).
	errors []int
	// params lists query parameters beyond paging and list filters, and
	// request headers the handler reads.
	params []param
	// uploads are media types accepted as a raw request body instead of,
	// or besides, the JSON body.
	uploads []string
	// downloads are media types of a binary success answer.
	downloads []string
	// example replaces the request body's generated example.
	example any
	// idempotent routes take an Idempotency-Key header
	idempotent bool
}

// param is one documented query parameter, or a header when in is
// "header".
type param struct {
	name, description string
	in                string
	schema            map[string]any
	required          bool
}

// rawSchema is a schema written out by hand, for answers no Go type
// describes (a list mixing two shapes).
type rawSchema map[string]any

func (rs resource[T, F]) shapes(base string) map[string]shape {
	var v T
	var f F
	what := strings.ReplaceAll(rs.one, "_", " ")
	return map[string]shape{
		"GET " + base:              {summary: "List " + strings.ReplaceAll(rs.many, "_", " "), status: 200, key: rs.many, out: v, list: true, filters: kindsOf(rs.entity)},
		"POST " + base:             {summary: "Create a " + what, body: f, status: 201, key: rs.one, out: v},
		"GET " + base + "/{id}":    {summary: "Get a " + what, status: 200, key: rs.one, out: v},
		"PATCH " + base + "/{id}":  {summary: "Change a " + what + " (fields absent keep their values)", body: f, status: 200, key: rs.one, out: v},
		"DELETE " + base + "/{id}": {summary: "Delete a " + what, status: 204},
	}
}

type statusBody struct {
	Status string `json:"status"`
}

type amountBody struct {
	AmountCents *int64 `json:"amount_cents"`
}

type customerBody struct {
	CustomerID string `json:"customer_id"`
}

type revokedBody struct {
	Revoked bool `json:"revoked"`
}

type loginResult struct {
	JWT       string       `json:"jwt"`
	ExpiresAt time.Time    `json:"expires_at"`
	User      tenancy.User `json:"user"`
}

type redeemResult struct {
	Account loyalty.Account `json:"customer_loyalty"`
	Reward  loyalty.Reward  `json:"loyalty_reward"`
}

func apiShapes() map[string]shape {
	all := map[string]shape{
		"POST /login": {summary: "Log in; 409 choose_restaurant lists the restaurants where the password verified when the e-mail is in several",
			body: loginRequest{}, status: 200, out: loginResult{}, other: map[int]any{http.StatusConflict: chooseRestaurantBody{}},
			errors:  []int{http.StatusUnauthorized, http.StatusTooManyRequests, http.StatusServiceUnavailable},
			example: loginRequest{Email: "ada@alpha-sushi.test", Password: "correct horse battery staple"}},
		"POST /logout":                          {summary: "Revoke the caller's token", status: 204},
		"GET /api/v1/me":                        {summary: "The caller", status: 200, key: "user", out: tenancy.User{}},
		"GET /api/v1/restaurants":               {summary: "List restaurants", status: 200, key: "restaurants", out: []tenancy.Restaurant{}},
		"POST /api/v1/restaurants":              {summary: "Create a restaurant", body: restaurantRequest{}, status: 201, key: "restaurant", out: tenancy.Restaurant{}},
		"GET /api/v1/restaurants/{id}":          {summary: "Get a restaurant", status: 200, key: "restaurant", out: tenancy.Restaurant{}},
		"PATCH /api/v1/restaurants/{id}":        {summary: "Change a restaurant", body: restaurantRequest{}, status: 200, key: "restaurant", out: tenancy.Restaurant{}},
		"GET /api/v1/users":                     {summary: "List users", status: 200, key: "users", out: tenancy.User{}, list: true},
		"POST /api/v1/users":                    {summary: "Create a user", body: userRequest{}, status: 201, key: "user", out: tenancy.User{}},
		"GET /api/v1/users/{id}":                {summary: "Get a user", status: 200, key: "user", out: tenancy.User{}},
		"PATCH /api/v1/users/{id}":              {summary: "Change a user", body: userRequest{}, status: 200, key: "user", out: tenancy.User{}},
		"DELETE /api/v1/users/{id}":             {summary: "Delete a user", status: 204},
		"POST /api/v1/users/{id}/revoke_tokens": {summary: "Revoke every token of a user", status: 200, out: revokedBody{}},

		"GET /api/v1/orders":                       {summary: "List orders (a customer sees their own)", status: 200, key: "orders", out: ordering.Order{}, list: true, filters: kindsOf(store.Orders)},
		"POST /api/v1/orders":                      {summary: "Place an order; prices come from the menu", body: ordering.Request{}, status: 201, key: "order", out: ordering.Order{}, idempotent: true},
		"GET /api/v1/orders/{id}":                  {summary: "Get an order with its items", status: 200, key: "order", out: ordering.Order{}},
		"POST /api/v1/orders/{id}/status":          {summary: "Move an order along its lifecycle", body: statusBody{}, status: 200, key: "order", out: ordering.Order{}},
		"GET /api/v1/payments":                     {summary: "List payments", status: 200, key: "payments", out: payments.Payment{}, list: true, filters: kindsOf(store.Payments)},
		"POST /api/v1/payments":                    {summary: "Pay an order (status failed when declined)", body: payments.Request{}, status: 201, key: "payment", out: payments.Payment{}, idempotent: true},
		"GET /api/v1/payments/{id}":                {summary: "Get a payment", status: 200, key: "payment", out: payments.Payment{}},
		"POST /api/v1/payments/{id}/refund":        {summary: "Refund a payment, in part or (no amount) in full", body: amountBody{}, status: 200, key: "payment", out: payments.Payment{}, idempotent: true},
		"GET /api/v1/reservations":                 {summary: "List reservations (a customer sees their own)", status: 200, key: "reservations", out: reservations.Reservation{}, list: true, filters: kindsOf(store.Reservations)},
		"POST /api/v1/reservations":                {summary: "Book a table", body: reservations.Request{}, status: 201, key: "reservation", out: reservations.Reservation{}, idempotent: true},
		"GET /api/v1/reservations/{id}":            {summary: "Get a reservation", status: 200, key: "reservation", out: reservations.Reservation{}},
		"POST /api/v1/reservations/{id}/status":    {summary: "Seat, complete, cancel or mark a no-show", body: statusBody{}, status: 200, key: "reservation", out: reservations.Reservation{}},
		"POST /api/v1/reservations/{id}/cancel":    {summary: "Cancel a reservation", status: 200, key: "reservation", out: reservations.Reservation{}},
		"GET /api/v1/customer_loyalty":             {summary: "List loyalty balances", status: 200, key: "customer_loyalty", out: loyalty.Account{}, list: true, filters: kindsOf(store.LoyaltyAccounts)},
		"GET /api/v1/customer_loyalty/{id}":        {summary: "Get a loyalty balance", status: 200, key: "customer_loyalty", out: loyalty.Account{}},
		"POST /api/v1/loyalty_rewards/{id}/redeem": {summary: "Spend points on a reward", body: customerBody{}, status: 200, out: redeemResult{}},
		"GET /api/v1/notifications":                {summary: "List notifications", status: 200, key: "notifications", out: notify.Notification{}, list: true, filters: kindsOf(store.Notifications)},
		"GET /api/v1/notifications/{id}":           {summary: "Get a notification", status: 200, key: "notification", out: notify.Notification{}},
		"POST /api/v1/notifications/{id}/read":     {summary: "Mark a notification read", status: 200, key: "notification", out: notify.Notification{}},
		"POST /api/v1/feedback":                    {summary: "Leave feedback", body: customers.FeedbackFields{}, status: 201, key: "feedback", out: customers.Feedback{}},
	}
	fb := feedbackResource.shapes("/api/v1/feedback")
	for _, k := range []string{"GET /api/v1/feedback", "GET /api/v1/feedback/{id}", "DELETE /api/v1/feedback/{id}"} {
		all[k] = fb[k]
	}
	for _, c := range collections {
		for k, v := range c.shapes(c.base) {
			all[k] = v
		}
	}
	for k, v := range adminShapes() {
		all[k] = v
	}
	return all
}

// tags group the operations by capability; a route belongs to the tag with
// the longest matching path prefix. A route under a new prefix needs its
// prefix here (a test names the route otherwise).
var tags = []struct {
	name, description string
	prefixes          []string
}{
	{"Operations", "Liveness, readiness and this document.", []string{"/health", "/ready", "/api/openapi.json"}},
	{"Authentication", "Logging in and out, and the caller.", []string{"/login", "/logout", "/api/v1/me"}},
	{"Restaurants", "The tenants themselves, their status and emergency response.", []string{"/api/v1/restaurants", "/admin/restaurants"}},
	{"Users", "A restaurant's logins.", []string{"/api/v1/users"}},
	{"Audit log", "Who changed what, with before and after.", []string{"/admin/audit_log"}},
	{"Menu", "Menu categories and items.", []string{"/api/v1/menu_categories", "/api/v1/menu_items"}},
	{"Customers", "Guests and their feedback.", []string{"/api/v1/customers", "/api/v1/feedback"}},
	{"Staff", "Staff members.", []string{"/api/v1/staff_members"}},
	{"Reservations", "Tables, bookings and special events.", []string{"/api/v1/tables", "/api/v1/reservations", "/api/v1/special_events"}},
	{"Orders", "Orders and promotions; prices come from the menu.", []string{"/api/v1/orders", "/api/v1/promotions"}},
	{"Payments", "Payment methods, payments and refunds.", []string{"/api/v1/payments", "/api/v1/payment_methods"}},
	{"Loyalty", "Programs, rewards and balances.", []string{"/api/v1/loyalty_programs", "/api/v1/loyalty_rewards", "/api/v1/customer_loyalty"}},
	{"Notifications", "Records of order status changes.", []string{"/api/v1/notifications"}},
	{"Feature flags", "Platform defaults, per-tenant overrides, evaluation and the SDK keys that evaluate.", []string{"/admin/feature_flags", "/admin/sdk_keys", "/api/v1/feature_flags"}},
	{"OFREP", "The OpenFeature Remote Evaluation Protocol; its errors use the protocol's own shape.", []string{"/ofrep"}},
	{"Tenant metrics", "Usage, health and events per tenant.", []string{"/admin/tenant_metrics"}},
	{"Backups", "Disaster recovery: export, import, clone, migrate, validate, restore.", []string{"/admin/tenant_backup"}},
}

// untaggedTag marks a route whose prefix is in no tag.
const untaggedTag = "Untagged"

func tagOf(pattern string) string {
	best, bestLen := untaggedTag, -1
	for _, t := range tags {
		for _, p := range t.prefixes {
			if (pattern == p || strings.HasPrefix(pattern, p+"/")) && len(p) > bestLen {
				best, bestLen = t.name, len(p)
			}
		}
	}
	return best
}

// credential is one way to authenticate, with the Route flag that admits
// it; an operation's security lists every credential its route admits.
type credential struct {
	scheme  string
	def     map[string]any
	admits  func(Route) bool
	purpose string
}

var credentials = []credential{
	{"bearerJWT", map[string]any{"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
		"description": "The token POST /login answers (24 h)."},
		func(rt Route) bool { return rt.Roles != nil }, ""},
	{"apiKey", map[string]any{"type": "http", "scheme": "bearer",
		"description": "An installation API key, sent as a bearer token: it may only upload an archive into a new restaurant and follow that import."},
		func(rt Route) bool { return rt.APIKey }, "installation API keys"},
	{"sdkKey", map[string]any{"type": "apiKey", "in": "header", "name": "X-API-Key",
		"description": "A restaurant's SDK key (ossdk_…), in X-API-Key or as a bearer token: it may only evaluate that restaurant's flags."},
		func(rt Route) bool { return rt.SDKKey }, "the restaurant's SDK keys"},
}

func securityOf(rt Route) []any {
	out := []any{}
	for _, c := range credentials {
		if c.admits(rt) {
			out = append(out, map[string]any{c.scheme: []any{}})
		}
	}
	return out
}

// errorExamples illustrate the error body per status.
var errorExamples = map[int]errorDetail{
	http.StatusBadRequest:            {Code: apperr.Invalid, Message: "name is required", Field: "name"},
	http.StatusUnauthorized:          {Code: apperr.Unauthorized, Message: "missing bearer token"},
	http.StatusForbidden:             {Code: apperr.Forbidden, Message: "role staff may not call this route"},
	http.StatusNotFound:              {Code: apperr.NotFound, Message: "not found"},
	http.StatusConflict:              {Code: apperr.Conflict, Message: "the resource changed meanwhile"},
	http.StatusRequestEntityTooLarge: {Code: apperr.TooLarge, Message: "request body exceeds 1048576 bytes"},
	http.StatusUnsupportedMediaType:  {Code: "unsupported_media_type", Message: "send Content-Type: application/json"},
	http.StatusUnprocessableEntity:   {Code: apperr.Invalid, Message: "the request cannot be processed"},
	http.StatusLocked:                {Code: apperr.Locked, Message: "restaurant is read-only; changes are refused until it is reactivated"},
	http.StatusTooManyRequests:       {Code: "too_many_requests", Message: "too many failed attempts; retry later"},
	http.StatusServiceUnavailable:    {Code: "unavailable", Message: "the database is unavailable; retry later"},
}

var ofrepErrorExamples = map[int]ofrepError{
	http.StatusBadRequest:         {Key: "new_checkout", ErrorCode: "PARSE_ERROR", ErrorDetails: "request body is not a JSON object"},
	http.StatusUnauthorized:       {ErrorCode: "GENERAL", ErrorDetails: "missing bearer token"},
	http.StatusForbidden:          {ErrorCode: "GENERAL", ErrorDetails: "not allowed"},
	http.StatusNotFound:           {Key: "new_checkout", ErrorCode: "FLAG_NOT_FOUND", ErrorDetails: "flag new_checkout does not exist for this restaurant"},
	http.StatusTooManyRequests:    {ErrorCode: "GENERAL", ErrorDetails: "too many requests; retry later"},
	http.StatusServiceUnavailable: {ErrorCode: "GENERAL", ErrorDetails: "unavailable; retry later"},
}

// errorStatuses are the error answers of a route: those its Route implies
// and those its handler adds.
func errorStatuses(rt Route, sh shape) []int {
	set := map[int]bool{}
	if sh.body != nil {
		set[http.StatusBadRequest], set[http.StatusUnsupportedMediaType] = true, true
		// OFREP answers an oversized body as its own PARSE_ERROR (400).
		set[http.StatusRequestEntityTooLarge] = !isOFREP(rt)
	}
	if sh.list || len(sh.filters) > 0 || len(sh.params) > 0 {
		set[http.StatusBadRequest] = true
	}
	if pathParams.MatchString(rt.Pattern) {
		set[http.StatusNotFound] = true
	}
	if rt.Roles != nil {
		set[http.StatusUnauthorized], set[http.StatusForbidden], set[http.StatusServiceUnavailable] = true, true, true
	}
	switch rt.Scope {
	case TenantScoped:
		if rt.Allows(tenancy.SuperAdmin) {
			set[http.StatusBadRequest] = true // no tenant named
		}
		set[http.StatusNotFound] = true
	case TenantOptional, TenantInPath:
		set[http.StatusNotFound] = true
	}
	if rt.IsWrite() && !rt.Always && rt.Scope != NoTenant {
		set[http.StatusLocked] = true
	}
	if rt.APIKey {
		set[http.StatusTooManyRequests] = true
	}
	for _, st := range sh.errors {
		set[st] = true
	}
	out := make([]int, 0, len(set))
	for st, on := range set {
		if _, custom := sh.other[st]; on && !custom {
			out = append(out, st)
		}
	}
	sort.Ints(out)
	return out
}

func isOFREP(rt Route) bool { return strings.HasPrefix(rt.Pattern, "/ofrep/") }

// documentation collects what the operations share.
type documentation struct {
	responses map[string]any
	schemes   map[string]any
}

// errorResponse is the shared description of one error status, in the
// product's error body or OFREP's.
func (d *documentation) errorResponse(status int, ofrep bool) map[string]any {
	name := "Error" + strconv.Itoa(status)
	schema, example := "Error", any(errorBody{Error: errorExamples[status]})
	if ofrep {
		name, schema, example = "Ofrep"+name, "OfrepError", ofrepErrorExamples[status]
		if _, ok := ofrepErrorExamples[status]; !ok {
			example = ofrepError{ErrorCode: "GENERAL", ErrorDetails: http.StatusText(status)}
		}
	} else if _, ok := errorExamples[status]; !ok {
		example = errorBody{Error: errorDetail{Code: apperr.Internal, Message: http.StatusText(status)}}
	}
	if _, done := d.responses[name]; !done {
		r := map[string]any{"description": http.StatusText(status), "content": map[string]any{"application/json": map[string]any{
			"schema": map[string]any{"$ref": "#/components/schemas/" + schema}, "example": example}}}
		if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
			r["headers"] = map[string]any{"Retry-After": map[string]any{"description": "seconds to wait before retrying",
				"schema": map[string]any{"type": "integer", "minimum": 0}}}
		}
		d.responses[name] = r
	}
	return map[string]any{"$ref": "#/components/responses/" + name}
}

// OpenAPI returns the API's OpenAPI 3 document: every route of the table.
// Routes without a hand-written shape are still described from the Route;
// TestOpenAPIDocumentsEveryRoute names them.
func OpenAPI(version string) map[string]any {
	if version == "" {
		version = "dev"
	}
	shapes := apiShapes()
	d := &documentation{responses: map[string]any{}, schemes: map[string]any{}}
	paths := map[string]map[string]any{}
	used := map[string]bool{}
	for _, rt := range Routes() {
		sh, known := shapes[rt.Method+" "+rt.Pattern]
		op := d.operation(rt, sh, known)
		used[op["tags"].([]string)[0]] = true
		if paths[rt.Pattern] == nil {
			paths[rt.Pattern] = map[string]any{}
		}
		paths[rt.Pattern][strings.ToLower(rt.Method)] = op
	}
	var tagList []any
	for _, t := range tags {
		if used[t.name] {
			tagList = append(tagList, map[string]any{"name": t.name, "description": t.description})
		}
	}
	if used[untaggedTag] {
		tagList = append(tagList, map[string]any{"name": untaggedTag, "description": "Routes under a path prefix no tag names."})
	}
	return map[string]any{
		"openapi": "3.0.3",
		"info": map[string]any{"title": "Shimizu Order Suite API", "version": version,
			"description": "Multi-tenant restaurant backend. Money is in integer cents; times are RFC 3339 UTC. " +
				"Errors are {\"error\": {\"code\", \"message\", \"field\"}}, except on the OFREP routes, which answer OFREP's {\"errorCode\", \"errorDetails\"}."},
		"servers": []any{
			map[string]any{"url": "/", "description": "the installation serving this document"},
			map[string]any{"url": "{scheme}://{host}", "description": "an installation by address (ordersuite serve listens on :8080 by default)",
				"variables": map[string]any{
					"scheme": map[string]any{"default": "https", "enum": []string{"https", "http"}},
					"host":   map[string]any{"default": "localhost:8080", "description": "host and port of the installation"}}},
		},
		"tags":  tagList,
		"paths": paths,
		"components": map[string]any{
			"securitySchemes": d.schemes,
			"responses":       d.responses,
			"schemas": map[string]any{
				"Error": map[string]any{"type": "object", "required": []string{"error"},
					"additionalProperties": false,
					"properties": map[string]any{
						"error": map[string]any{"type": "object", "required": []string{"code", "message"},
							"additionalProperties": false,
							"properties": map[string]any{"code": map[string]any{"type": "string"}, "message": map[string]any{"type": "string"},
								"field": map[string]any{"type": "string", "description": "the input the error is about"}}},
						"job_id": map[string]any{"type": "string", "description": "the job a conflict is about (a restore already running)"}}},
				"OfrepError": map[string]any{"type": "object", "required": []string{"errorCode"},
					"properties": map[string]any{
						"key":          map[string]any{"type": "string"},
						"errorCode":    map[string]any{"type": "string", "description": "PARSE_ERROR, TARGETING_KEY_MISSING, INVALID_CONTEXT, FLAG_NOT_FOUND or GENERAL"},
						"errorDetails": map[string]any{"type": "string"}}},
			},
		},
	}
}

func (d *documentation) operation(rt Route, sh shape, known bool) map[string]any {
	op := map[string]any{"operationId": operationID(rt), "tags": []string{tagOf(rt.Pattern)}}
	if known {
		op["summary"] = sh.summary
	} else {
		op["summary"] = rt.Method + " " + rt.Pattern
	}
	var params []any
	for _, m := range pathParams.FindAllStringSubmatch(rt.Pattern, -1) {
		params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
	}
	if (rt.Scope == TenantScoped || rt.Scope == TenantOptional) && rt.Allows(tenancy.SuperAdmin) {
		what := "super_admin only: the restaurant to act on"
		if rt.Scope == TenantOptional {
			what += "; without it, the platform's own (global) rows"
		}
		params = append(params, map[string]any{"name": TenantHeader, "in": "header", "required": false,
			"description": what, "schema": map[string]any{"type": "string", "format": "uuid"}})
		if strings.HasPrefix(rt.Pattern, "/admin/") {
			params = append(params, map[string]any{"name": "restaurant_id", "in": "query", "required": false,
				"description": "the same as the " + TenantHeader + " header", "schema": map[string]any{"type": "string", "format": "uuid"}})
		}
	}
	if sh.list {
		params = append(params,
			map[string]any{"name": "page", "in": "query", "schema": map[string]any{"type": "integer", "minimum": 1}},
			map[string]any{"name": "per_page", "in": "query", "schema": map[string]any{"type": "integer", "minimum": 1, "maximum": maxPerPage}})
		names := make([]string, 0, len(sh.filters))
		for n := range sh.filters {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			params = append(params, map[string]any{"name": n, "in": "query", "schema": filterSchema(sh.filters[n])})
		}
	}
	for _, q := range sh.params {
		in := q.in
		if in == "" {
			in = "query"
		}
		p := map[string]any{"name": q.name, "in": in, "schema": q.schema}
		if q.description != "" {
			p["description"] = q.description
		}
		if q.required {
			p["required"] = true
		}
		params = append(params, p)
	}
	if sh.idempotent {
		params = append(params, map[string]any{"name": IdempotencyHeader, "in": "header", "required": false,
			"description": "Makes the request safe to retry. The first answer (status and body) is kept with the write for at least " +
				"24 hours, per restaurant and caller; a retry with the same key and the same request gets that answer back " +
				"(with Idempotent-Replayed: true) and changes nothing, and a duplicate sent while the first is still running " +
				"waits for it. The same key with a different request is refused with 422. Errors are not kept.",
			"schema": map[string]any{"type": "string", "minLength": 1, "maxLength": maxIdempotencyKey, "pattern": "^[\\x20-\\x7e]+$"}})
	}
	if params != nil {
		op["parameters"] = params
	}
	op["security"] = securityOf(rt)
	if rt.Roles != nil {
		roles := make([]string, len(rt.Roles))
		for i, r := range rt.Roles {
			roles[i] = string(r)
		}
		desc := "Roles: " + strings.Join(roles, ", ") + "."
		for _, c := range credentials {
			if c.purpose != "" && c.admits(rt) {
				desc += " Also open to " + c.purpose + "."
			}
		}
		op["description"] = desc
	}
	for _, c := range credentials {
		if c.admits(rt) {
			d.schemes[c.scheme] = c.def
		}
	}
	content := map[string]any{}
	if sh.body != nil {
		schema := schemaOf(reflect.TypeOf(sh.body), false)
		example := sh.example
		if example == nil {
			example = exampleOf(schema, "")
		}
		content["application/json"] = map[string]any{"schema": schema, "example": example}
	}
	for _, mt := range sh.uploads {
		content[mt] = map[string]any{"schema": map[string]any{"type": "string", "format": "binary"}}
	}
	switch {
	case len(content) > 0:
		op["requestBody"] = map[string]any{"required": true, "content": content}
	case rt.IsWrite():
		op["requestBody"] = map[string]any{"required": false, "content": map[string]any{
			"application/json": map[string]any{"schema": map[string]any{"type": "object"}, "example": map[string]any{}}}}
	}
	responses := map[string]any{"default": d.errorResponse(http.StatusInternalServerError, isOFREP(rt))}
	switch {
	case !known:
		responses["200"] = map[string]any{"description": "OK", "content": map[string]any{"application/json": map[string]any{"schema": map[string]any{}}}}
	case len(sh.downloads) > 0:
		dl := map[string]any{}
		for _, mt := range sh.downloads {
			dl[mt] = map[string]any{"schema": map[string]any{"type": "string", "format": "binary"}}
		}
		responses[strconv.Itoa(sh.status)] = map[string]any{"description": "OK", "content": dl}
	case sh.out == nil:
		responses[strconv.Itoa(sh.status)] = map[string]any{"description": "done"}
	default:
		schema := responseSchema(sh)
		responses[strconv.Itoa(sh.status)] = map[string]any{"description": http.StatusText(sh.status),
			"content": map[string]any{"application/json": map[string]any{"schema": schema, "example": exampleOf(schema, "")}}}
	}
	for status, v := range sh.other {
		if v == nil {
			responses[strconv.Itoa(status)] = map[string]any{"description": http.StatusText(status)}
			continue
		}
		schema := schemaFor(v)
		responses[strconv.Itoa(status)] = map[string]any{"description": http.StatusText(status),
			"content": map[string]any{"application/json": map[string]any{"schema": schema, "example": exampleOf(schema, "")}}}
	}
	for _, st := range errorStatuses(rt, sh) {
		responses[strconv.Itoa(st)] = d.errorResponse(st, isOFREP(rt))
	}
	if sh.idempotent {
		if ok, found := responses[strconv.Itoa(sh.status)].(map[string]any); found {
			ok["headers"] = map[string]any{ReplayedHeader: map[string]any{"description": "true when the answer is the one kept for the Idempotency-Key",
				"schema": map[string]any{"type": "string", "enum": []string{"true"}}}}
		}
		responses["422"] = d.errorResponse(http.StatusUnprocessableEntity, false)
	}
	op["responses"] = responses
	return op
}

// schemaFor describes an answer: a Go value's type, or a rawSchema as is.
func schemaFor(v any) map[string]any {
	if r, ok := v.(rawSchema); ok {
		return r
	}
	return schemaOf(reflect.TypeOf(v), true)
}

// exampleOf makes an example value that the schema accepts, guided by the
// property's name where the type says little.
func exampleOf(schema map[string]any, name string) any {
	if enum, ok := schema["enum"].([]string); ok && len(enum) > 0 {
		return enum[0]
	}
	if alts, ok := schema["oneOf"].([]any); ok && len(alts) > 0 {
		return exampleOf(alts[0].(map[string]any), name)
	}
	switch schema["type"] {
	case "string":
		switch schema["format"] {
		case "uuid":
			return exampleID
		case "date-time":
			return exampleTime
		case "date":
			return exampleTime[:10]
		case "binary":
			return nil
		}
		switch {
		case name == "id" || strings.HasSuffix(name, "_id"):
			return exampleID
		case strings.HasSuffix(name, "_at"):
			return exampleTime
		case strings.HasSuffix(name, "_date"):
			return exampleTime[:10]
		case name == "email":
			return "ada@alpha-sushi.test"
		case name == "name":
			return "Alpha Sushi"
		case name == "key":
			return "new_checkout"
		}
		return "text"
	case "integer":
		if m, ok := schema["minimum"].(int); ok {
			return m
		}
		return 0
	case "number":
		return 0
	case "boolean":
		return true
	case "array":
		items, _ := schema["items"].(map[string]any)
		if items == nil {
			return []any{}
		}
		item := exampleOf(items, strings.TrimSuffix(name, "s"))
		if item == nil {
			return []any{}
		}
		return []any{item}
	case "object":
		props, _ := schema["properties"].(map[string]any)
		out := map[string]any{}
		for n, p := range props {
			if v := exampleOf(p.(map[string]any), n); v != nil {
				out[n] = v
			}
		}
		return out
	}
	return map[string]any{}
}

const (
	exampleID   = "0193a5c4-7c1e-7d3a-9f1e-2b4c6d8e0f11"
	exampleTime = "2026-11-30T09:00:00Z"
)

func operationID(rt Route) string {
	p := strings.NewReplacer("/api/v1/", "", "/", "_", "{", "", "}", "").Replace(rt.Pattern)
	return strings.ToLower(rt.Method) + "_" + strings.Trim(p, "_")
}

func filterSchema(k filterKind) map[string]any {
	switch k {
	case idFilter:
		return map[string]any{"type": "string", "format": "uuid"}
	case boolFilter:
		return map[string]any{"type": "boolean"}
	case intFilter:
		return map[string]any{"type": "integer", "minimum": 0}
	case dateFilter:
		return map[string]any{"type": "string", "format": "date"}
	case timeFilter:
		return map[string]any{"type": "string", "format": "date-time"}
	}
	return map[string]any{"type": "string"}
}

func responseSchema(sh shape) map[string]any {
	item := schemaFor(sh.out)
	if sh.key == "" {
		return item
	}
	if !sh.list {
		return object(map[string]any{sh.key: item}, []string{sh.key})
	}
	return object(map[string]any{
		sh.key:     map[string]any{"type": "array", "items": item},
		"page":     map[string]any{"type": "integer"},
		"per_page": map[string]any{"type": "integer"},
		"total":    map[string]any{"type": "integer"},
	}, []string{sh.key, "page", "per_page", "total"})
}

func object(props map[string]any, required []string) map[string]any {
	o := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	if len(required) > 0 {
		sort.Strings(required)
		o["required"] = required
	}
	return o
}

var pathParams = regexp.MustCompile(`\{(\w+)\}`)

// enums are the string types with a closed set of values.
var enums = map[reflect.Type][]string{
	reflect.TypeOf(ordering.Status("")):       {"pending", "preparing", "ready", "completed", "cancelled", "refunded"},
	reflect.TypeOf(ordering.Type("")):         {"dine_in", "takeout", "delivery"},
	reflect.TypeOf(ordering.DiscountType("")): {"percent", "fixed"},
	reflect.TypeOf(payments.Kind("")):         {"cash", "card", "mobile", "voucher", "other"},
	reflect.TypeOf(payments.Status("")):       {"completed", "failed", "partially_refunded", "refunded"},
	reflect.TypeOf(reservations.Status("")):   {"booked", "seated", "completed", "cancelled", "no_show"},
	reflect.TypeOf(notify.Status("")):         {"pending", "sent", "failed", "read"},
	reflect.TypeOf(tenancy.Role("")):          {"super_admin", "admin", "staff", "customer"},
	reflect.TypeOf(tenancy.Status("")):        {"active", "read_only", "suspended"},
	reflect.TypeOf(jobs.Status("")):           {string(jobs.Queued), string(jobs.Running), string(jobs.Complete), string(jobs.Failed)},
	reflect.TypeOf(backup.Origin("")):         {string(backup.OriginBackup), string(backup.OriginReceived)},
}

var timeType = reflect.TypeOf(time.Time{})
var rawType = reflect.TypeOf(json.RawMessage{})

// schemaOf describes how encoding/json writes (or reads) t. Answers list
// every field that is always present as required; request bodies require
// nothing the server would not itself check.
func schemaOf(t reflect.Type, answer bool) map[string]any {
	switch {
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case t == rawType:
		// Raw JSON the server keeps as given: objects (or null) unless the
		// field's openapi tag names another type.
		return map[string]any{"type": "object", "nullable": true}
	}
	if vals, ok := enums[t]; ok {
		return map[string]any{"type": "string", "enum": vals}
	}
	switch t.Kind() {
	case reflect.Pointer:
		s := schemaOf(t.Elem(), answer)
		s["nullable"] = true
		return s
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer", "format": "int64"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice, reflect.Array:
		return map[string]any{"type": "array", "items": schemaOf(t.Elem(), answer)}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": schemaOf(t.Elem(), answer)}
	case reflect.Struct:
		props := map[string]any{}
		var required []string
		addFields(t, answer, props, &required)
		return object(props, required)
	}
	return map[string]any{}
}

func addFields(t reflect.Type, answer bool, props map[string]any, required *[]string) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			addFields(f.Type, answer, props, required)
			continue
		}
		if name == "" {
			name = f.Name
		}
		props[name] = schemaOf(f.Type, answer)
		if typ := f.Tag.Get("openapi"); typ != "" {
			props[name].(map[string]any)["type"] = typ
		}
		if answer && !strings.Contains(opts, "omitempty") {
			*required = append(*required, name)
		}
	}
}
