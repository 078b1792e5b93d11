package httpapi_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/shimizu-tech/ordersuite/internal/httpapi"
	"github.com/shimizu-tech/ordersuite/internal/ordering"
	"github.com/shimizu-tech/ordersuite/internal/payments"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// apiDoc fetches the served OpenAPI document and checks it is valid.
func (e *env) apiDoc() (*openapi3.T, routers.Router) {
	e.t.Helper()
	res := e.do("GET", "/api/openapi.json", "", nil)
	if res.Status != http.StatusOK {
		e.t.Fatalf("GET /api/openapi.json: %d %s", res.Status, res.Body)
	}
	doc, err := openapi3.NewLoader().LoadFromData(res.Body)
	if err != nil {
		e.t.Fatalf("load OpenAPI document: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		e.t.Fatalf("invalid OpenAPI document: %v", err)
	}
	doc.Servers = openapi3.Servers{{URL: e.srv.URL}}
	router, err := legacy.NewRouter(doc)
	if err != nil {
		e.t.Fatal(err)
	}
	return doc, router
}

// TestOpenAPIDescribesEveryRoute compares the served document with the
// route table in both directions: every route is an operation with its
// method, and every operation is a route.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	doc, _ := e.apiDoc()
	routes := map[string]httpapi.Route{}
	for _, rt := range httpapi.Routes() {
		routes[rt.Method+" "+rt.Pattern] = rt
		item := doc.Paths.Value(rt.Pattern)
		switch {
		case item == nil:
			t.Errorf("route %s %s is not in the OpenAPI document: its path is missing", rt.Method, rt.Pattern)
		case item.GetOperation(rt.Method) == nil:
			t.Errorf("route %s %s is not in the OpenAPI document: the path has no %s operation", rt.Method, rt.Pattern, rt.Method)
		}
	}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			if _, ok := routes[method+" "+path]; !ok {
				t.Errorf("the OpenAPI document describes %s %s, which is no route of the table", method, path)
			}
		}
	}
	if len(routes) < 100 {
		t.Fatalf("only %d routes: the route table was not read", len(routes))
	}
}

// validated sends a request and checks the request and the real answer
// against the document.
func (e *env) validated(router routers.Router, method, path, token string, body any, headers ...string) response {
	e.t.Helper()
	res := e.do(method, path, token, body, headers...)
	var raw []byte
	switch b := body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	case []byte:
		raw = b
	default:
		raw = mustJSON(e.t, b)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, bytes.NewReader(raw))
	if err != nil {
		e.t.Fatal(err)
	}
	if raw != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	route, params, err := router.FindRoute(req)
	if err != nil {
		e.t.Errorf("%s %s: no route in the document: %v", method, path, err)
		return res
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
	if res.Status < 400 {
		// Bodies the server accepted must be bodies the document accepts.
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			e.t.Errorf("%s %s: the accepted request does not match the document: %v", method, path, err)
		}
	}
	// An answer the operation does not list falls to "default", which
	// describes unexpected failures only: every other status is named.
	if res.Status != http.StatusInternalServerError && route.Operation.Responses.Value(strconv.Itoa(res.Status)) == nil {
		e.t.Errorf("%s %s answered %d, which its operation does not document\n%.400s", method, path, res.Status, res.Body)
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: res.Status, Header: res.Header,
		Body: io.NopCloser(bytes.NewReader(res.Body)), Options: &openapi3filter.Options{IncludeResponseStatus: true}}
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		e.t.Errorf("%s %s answered %d, which does not match the document: %v\n%.400s", method, path, res.Status, err, res.Body)
	}
	return res
}

// TestResponsesMatchOpenAPI calls every documented route with real data and
// checks every answer, success or error, against the document.
func TestResponsesMatchOpenAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, router := e.apiDoc()
	for _, rt := range httpapi.Routes() {
		if !strings.HasPrefix(rt.Pattern, "/api/v1/") {
			continue
		}
		role := tenancy.Admin
		if !rt.Allows(role) {
			role = tenancy.SuperAdmin
		}
		path := e.pathFor(rt, e.A)
		e.validated(router, rt.Method, path, e.tokenFor(role, e.A), bodyFor(rt), tenantHeaderFor(role, e.A)...)
	}
	// A full order, its payment and a reservation, with every field set.
	item := e.menuItem(e.A, 1000)
	tok := e.admin(e.A)
	o := e.validated(router, "POST", "/api/v1/orders", tok, orderBody(line(item.ID, 2)))
	id := obj(o.json(t), "order")["id"].(string)
	e.validated(router, "GET", "/api/v1/orders/"+id, tok, nil)
	e.validated(router, "GET", "/api/v1/orders?status=pending&per_page=5", tok, nil)
	e.validated(router, "POST", "/api/v1/payments", tok, map[string]any{"order_id": id, "payment_method_id": e.paymentMethod(e.A).ID, "amount_cents": 2000})
	e.validated(router, "POST", "/api/v1/orders/"+id+"/status", tok, map[string]any{"status": "preparing"})
	e.validated(router, "GET", "/api/v1/notifications", tok, nil)
	e.validated(router, "GET", "/api/v1/payments?order_id="+id, tok, nil)
	e.validated(router, "POST", "/api/v1/orders", tok, orderBody(line(item.ID, -1)))
	e.validated(router, "GET", "/api/v1/orders/"+e.order(e.B, "").ID, tok, nil)
	e.validated(router, "GET", "/api/v1/special_events", tok, nil)
	e.validated(router, "GET", "/api/v1/promotions", tok, nil)
}

// TestOpenAPIRejectsWrongAnswers shows the document is strict enough for
// TestResponsesMatchOpenAPI to catch a drifting answer.
func TestOpenAPIRejectsWrongAnswers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, router := e.apiDoc()
	req, _ := http.NewRequest("GET", e.srv.URL+"/api/v1/orders/"+e.order(e.A, "").ID, nil)
	route, params, err := router.FindRoute(req)
	if err != nil {
		t.Fatal(err)
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route}
	for _, body := range []string{
		`{"order":{"id":"x"}}`, // fields missing
		`{"order":{"id":"x","number":"AS-O-1","order_type":"takeout","status":"pending","notes":"","subtotal_cents":"12","discount_cents":0,"total_amount_cents":0,"created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z"}}`, // a string for cents
		`{"order":{}, "extra":1}`,
	} {
		out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: 200,
			Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(strings.NewReader(body))}
		if err := openapi3filter.ValidateResponse(context.Background(), out); err == nil {
			t.Errorf("the document accepts a wrong answer: %s", body)
		}
	}
}

func TestOpenAPIEnumsMatchTheCode(t *testing.T) {
	t.Parallel()
	for _, s := range ordering.Statuses {
		if !strings.Contains(string(mustJSON(t, httpapi.OpenAPI(""))), `"`+string(s)+`"`) {
			t.Errorf("order status %s missing from the document", s)
		}
	}
	for _, k := range payments.Kinds {
		if !strings.Contains(string(mustJSON(t, httpapi.OpenAPI(""))), `"`+string(k)+`"`) {
			t.Errorf("payment kind %s missing from the document", k)
		}
	}
}
