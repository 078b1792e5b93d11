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

	"github.com/shimizu-tech/ordersuite/internal/customers"
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

// shape is what one route reads and answers, for its description.
type shape struct {
	summary string
	body    any // a value of the request body's type; nil for none
	status  int // the success status
	key     string
	out     any // a value of the answered record's type; nil for no body
	list    bool
	filters map[string]filterKind
	// other answers a client must handle beyond success and the error
	// envelope, by status
	other map[int]any
	// idempotent routes take an Idempotency-Key header
	idempotent bool
}

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
			body: loginRequest{}, status: 200, out: loginResult{}, other: map[int]any{http.StatusConflict: chooseRestaurantBody{}}},
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
	return all
}

// OpenAPI returns the API's OpenAPI 3 document: every route of the table
// under /api/v1, and login.
func OpenAPI(version string) map[string]any {
	if version == "" {
		version = "dev"
	}
	shapes := apiShapes()
	paths := map[string]map[string]any{}
	for _, rt := range Routes() {
		if !strings.HasPrefix(rt.Pattern, "/api/v1/") && rt.Pattern != "/login" && rt.Pattern != "/logout" {
			continue
		}
		sh, known := shapes[rt.Method+" "+rt.Pattern]
		op := map[string]any{"operationId": operationID(rt)}
		if known {
			op["summary"] = sh.summary
		}
		var params []any
		for _, m := range pathParams.FindAllStringSubmatch(rt.Pattern, -1) {
			params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
		}
		if rt.Scope == TenantScoped {
			params = append(params, map[string]any{"name": TenantHeader, "in": "header", "required": false,
				"description": "super_admin only: the restaurant to act on", "schema": map[string]any{"type": "string", "format": "uuid"}})
		}
		if sh.idempotent {
			params = append(params, map[string]any{"name": IdempotencyHeader, "in": "header", "required": false,
				"description": "Makes the request safe to retry. The first answer (status and body) is kept with the write for at least " +
					"24 hours, per restaurant and caller; a retry with the same key and the same request gets that answer back " +
					"(with Idempotent-Replayed: true) and changes nothing, and a duplicate sent while the first is still running " +
					"waits for it. The same key with a different request is refused with 422. Errors are not kept.",
				"schema": map[string]any{"type": "string", "minLength": 1, "maxLength": maxIdempotencyKey, "pattern": "^[\\x20-\\x7e]+$"}})
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
		if params != nil {
			op["parameters"] = params
		}
		if rt.Roles != nil {
			op["security"] = []any{map[string]any{"bearer": []any{}}}
			roles := make([]string, len(rt.Roles))
			for i, r := range rt.Roles {
				roles[i] = string(r)
			}
			op["description"] = "Roles: " + strings.Join(roles, ", ")
		}
		if sh.body != nil {
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{
				"application/json": map[string]any{"schema": schemaOf(reflect.TypeOf(sh.body), false)}}}
		} else if rt.IsWrite() {
			op["requestBody"] = map[string]any{"required": false, "content": map[string]any{
				"application/json": map[string]any{"schema": map[string]any{"type": "object"}}}}
		}
		responses := map[string]any{"default": map[string]any{"description": "error",
			"content": map[string]any{"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Error"}}}}}
		switch {
		case !known:
			responses["200"] = map[string]any{"description": "OK", "content": map[string]any{"application/json": map[string]any{"schema": map[string]any{}}}}
		case sh.out == nil:
			responses[strconv.Itoa(sh.status)] = map[string]any{"description": "done"}
		default:
			responses[strconv.Itoa(sh.status)] = map[string]any{"description": "OK",
				"content": map[string]any{"application/json": map[string]any{"schema": responseSchema(sh)}}}
		}
		if sh.idempotent {
			ok := responses[strconv.Itoa(sh.status)].(map[string]any)
			ok["headers"] = map[string]any{ReplayedHeader: map[string]any{"description": "true when the answer is the one kept for the Idempotency-Key",
				"schema": map[string]any{"type": "string", "enum": []string{"true"}}}}
			responses["422"] = map[string]any{"description": "the Idempotency-Key was used for a different request",
				"content": map[string]any{"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Error"}}}}
		}
		for status, v := range sh.other {
			responses[strconv.Itoa(status)] = map[string]any{"description": http.StatusText(status),
				"content": map[string]any{"application/json": map[string]any{"schema": schemaOf(reflect.TypeOf(v), true)}}}
		}
		op["responses"] = responses
		if paths[rt.Pattern] == nil {
			paths[rt.Pattern] = map[string]any{}
		}
		paths[rt.Pattern][strings.ToLower(rt.Method)] = op
	}
	return map[string]any{
		"openapi": "3.0.3",
		"info": map[string]any{"title": "Shimizu Order Suite API", "version": version,
			"description": "Multi-tenant restaurant backend. Money is in integer cents; times are RFC 3339 UTC."},
		"paths": paths,
		"components": map[string]any{
			"securitySchemes": map[string]any{"bearer": map[string]any{"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
			"schemas": map[string]any{"Error": map[string]any{"type": "object", "required": []string{"error"},
				"additionalProperties": false,
				"properties": map[string]any{"error": map[string]any{"type": "object", "required": []string{"code", "message"},
					"additionalProperties": false,
					"properties": map[string]any{"code": map[string]any{"type": "string"}, "message": map[string]any{"type": "string"},
						"field": map[string]any{"type": "string"}}}}}},
		},
	}
}

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
	t := reflect.TypeOf(sh.out)
	if sh.key == "" {
		return schemaOf(t, true)
	}
	item := schemaOf(t, true)
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
		return map[string]any{}
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
		return map[string]any{"type": "object"}
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
		if answer && !strings.Contains(opts, "omitempty") {
			*required = append(*required, name)
		}
	}
}
