package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/shimizu-tech/ordersuite/internal/analytics"
	"github.com/shimizu-tech/ordersuite/internal/auth"
	"github.com/shimizu-tech/ordersuite/internal/events"
	"github.com/shimizu-tech/ordersuite/internal/flags"
	"github.com/shimizu-tech/ordersuite/internal/httpapi"
	"github.com/shimizu-tech/ordersuite/internal/metrics"
	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/storetest"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

func init() { auth.SetFastHashingForTests() }

const testPassword = "correct horse battery"

// testPasswordHash is testPassword's hash, computed once per test binary:
// hashing is deliberately slow, even at the tests' cost, and every env
// creates nine users. A hash verifies the same whichever user it is stored for.
var testPasswordHash = sync.OnceValues(func() (string, error) { return auth.HashPassword(testPassword) })

// env is a real server on a loopback port over a fresh database, with two
// tenants, a user of every role in each, and a platform operator.
type env struct {
	t       testing.TB
	db      *store.DB
	auth    *auth.Service
	metrics *metrics.Metrics
	srv     *httptest.Server
	A, B    tenant
	super   tenancy.User
}

// envHooks equip the server of every env with a capability's services; each
// capability's own test file adds its hook in an init function.
var envHooks []func(e *env, srv *httpapi.Server)

type tenant struct {
	R     tenancy.Restaurant
	Users map[tenancy.Role]tenancy.User
}

func newEnv(t testing.TB) *env {
	t.Helper()
	return newEnvFirst(t, nil)
}

// newEnvFirst is newEnv with a change to the server made before the hooks
// run (nil for none).
func newEnvFirst(t testing.TB, first func(*httpapi.Server)) *env {
	t.Helper()
	db := storetest.Open(t)
	e := &env{t: t, db: db, metrics: metrics.New()}
	e.auth = &auth.Service{DB: db, Secret: []byte("test-secret-test-secret-test-secret!")}
	e.auth.Start(context.Background())
	t.Cleanup(e.auth.Close)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := &httpapi.Server{DB: db, Auth: e.auth, Events: events.StoreSink{DB: db, Log: log}, Metrics: e.metrics, Log: log}
	if first != nil {
		first(srv)
	}
	for _, hook := range envHooks {
		hook(e, srv)
	}
	srv.Flags = flags.New(db, flags.Options{Log: log})
	srv.Analytics = &analytics.Service{DB: db}
	e.srv = httptest.NewServer(srv.Handler())
	t.Cleanup(e.srv.Close)
	e.A = e.newTenant("Alpha Sushi", "AS")
	e.B = e.newTenant("Beta Burgers", "BB")
	hash, err := testPasswordHash()
	if err != nil {
		t.Fatal(err)
	}
	if e.super, err = db.UpsertSuperAdmin(context.Background(), "root@platform.test", "Root", hash); err != nil {
		t.Fatal(err)
	}
	return e
}

// forSubtest is the env's server and database seen from subtest t, with
// tenants A and B of its own (B only when both is set): route-table subtests
// share one server and database and are kept apart by tenant, as the
// product keeps restaurants apart. Building an env per subtest (a database
// copy, a server, nine users) cost more than the requests it served.
func (e *env) forSubtest(t testing.TB, both bool) *env {
	t.Helper()
	sub := *e
	sub.t = t
	sub.A = sub.newTenant("Alpha Sushi", "AS")
	sub.B = tenant{}
	if both {
		sub.B = sub.newTenant("Beta Burgers", "BB")
	}
	envBackupsMu.Lock()
	envBackups[&sub], envQueues[&sub] = envBackups[e], envQueues[e]
	envBackupsMu.Unlock()
	t.Cleanup(func() {
		envBackupsMu.Lock()
		delete(envBackups, &sub)
		delete(envQueues, &sub)
		envBackupsMu.Unlock()
	})
	return &sub
}

func (e *env) newTenant(name, prefix string) tenant {
	e.t.Helper()
	ctx := context.Background()
	r, err := e.db.CreateRestaurant(ctx, name, prefix)
	if err != nil {
		e.t.Fatal(err)
	}
	tn := tenant{R: r, Users: map[tenancy.Role]tenancy.User{}}
	for _, role := range []tenancy.Role{tenancy.Admin, tenancy.Staff, tenancy.Customer} {
		tn.Users[role] = e.newUser(r.ID, string(role)+"@"+strings.ToLower(prefix)+".test", role)
	}
	return tn
}

func (e *env) newUser(restaurantID, email string, role tenancy.Role) tenancy.User {
	e.t.Helper()
	hash, err := testPasswordHash()
	if err != nil {
		e.t.Fatal(err)
	}
	u, err := e.db.CreateUser(tenancy.WithTenant(context.Background(), restaurantID),
		tenancy.User{Email: email, Name: string(role), Role: role, PasswordHash: hash})
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

// token issues a fresh token, as login would.
func (e *env) token(u tenancy.User) string {
	e.t.Helper()
	tok, _, err := e.auth.Issue(u)
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

// tokenFor returns a token for role: the operator, or that role's user in tn.
func (e *env) tokenFor(role tenancy.Role, tn tenant) string {
	if role == tenancy.SuperAdmin {
		return e.token(e.super)
	}
	return e.token(tn.Users[role])
}

type response struct {
	Status int
	Body   []byte
	Header http.Header
}

func (r response) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("response is not a JSON object: %v\n%s", err, r.Body)
	}
	return m
}

// decode reads a response body as T.
func decode[T any](t testing.TB, r response) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(r.Body, &v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
	return v
}

// do sends a request. body may be nil, a string (sent as is) or a value
// (encoded as JSON). headers are name, value pairs.
func (e *env) do(method, path, token string, body any, headers ...string) response {
	e.t.Helper()
	resp, err := e.srv.Client().Do(e.request(method, path, token, body, headers...))
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{Status: resp.StatusCode, Body: b, Header: resp.Header}
}

// request is the request do sends.
func (e *env) request(method, path, token string, body any, headers ...string) *http.Request {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		enc, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(enc)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return req
}

// snapshot captures every row a tenant owns, to prove a request changed
// nothing there.
func (e *env) snapshot(tn tenant) string {
	e.t.Helper()
	all := map[string]any{}
	for _, table := range append([]string{"restaurants"}, store.TenantTables...) {
		if eventLogTables[table] {
			continue
		}
		rows, err := e.db.TenantRows(context.Background(), table, tn.R.ID)
		if err != nil {
			e.t.Fatal(err)
		}
		all[table] = rows
	}
	b, _ := json.Marshal(all)
	return string(b)
}

var pathParam = regexp.MustCompile(`\{(\w+)\}`)

// fillPath replaces the pattern's {params} with values.
func fillPath(pattern string, values map[string]string) string {
	return pathParam.ReplaceAllStringFunc(pattern, func(m string) string {
		return values[m[1:len(m)-1]]
	})
}

// resourceFixtures make, for every route with path parameters, a resource
// of the given tenant to put in the path. A route missing here fails the
// generated tests, so a new route cannot skip its isolation check.
var resourceFixtures = map[string]func(e *env, tn tenant) map[string]string{
	"/api/v1/restaurants/{id}":              restaurantFixture,
	"/admin/restaurants/{id}/status":        restaurantFixture,
	"/admin/restaurants/{id}/revoke_tokens": restaurantFixture,
	"/api/v1/users/{id}":                    userFixture,
	"/api/v1/users/{id}/revoke_tokens":      userFixture,
}

func restaurantFixture(_ *env, tn tenant) map[string]string {
	return map[string]string{"id": tn.R.ID}
}

func userFixture(e *env, tn tenant) map[string]string {
	u := e.newUser(tn.R.ID, "fixture-"+store.NewID()[24:]+"@example.test", tenancy.Staff)
	return map[string]string{"id": u.ID}
}

// pathFor returns the route's path with a resource of tn in it.
func (e *env) pathFor(rt httpapi.Route, tn tenant) string {
	e.t.Helper()
	if !strings.Contains(rt.Pattern, "{") {
		return rt.Pattern
	}
	fx, ok := resourceFixtures[rt.Pattern]
	if !ok {
		e.t.Fatalf("route %s %s has path parameters but no entry in resourceFixtures", rt.Method, rt.Pattern)
	}
	return fillPath(rt.Pattern, fx(e, tn))
}
