package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/shimizu-tech/ordersuite/internal/auth"
	"github.com/shimizu-tech/ordersuite/internal/events"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// testClock is a clock tests move by hand.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

var testPolicy = auth.ThrottlePolicy{Window: 15 * time.Minute, AccountLimit: 10, AddressLimit: 20, APIKeyLimit: 5}

func (e *env) throttled(clock *testClock, p auth.ThrottlePolicy) {
	e.auth.Throttle = &auth.Throttle{DB: e.db.WithClock(clock.Now), Policy: p}
}

func (e *env) tryLogin(email, password string) response {
	return e.do("POST", "/login", "", map[string]any{"email": email, "password": password})
}

// TestLoginThrottlePerAccount: the 11th wrong password for one account in
// the window is a 429 with Retry-After — for an e-mail nobody has, the
// same answer — and once the window has passed the right password works.
func TestLoginThrottlePerAccount(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	clock := &testClock{now: time.Now().UTC()}
	p := testPolicy
	p.AddressLimit = 100 // this test is about accounts
	e.throttled(clock, p)
	admin := e.A.Users[tenancy.Admin]
	for _, email := range []string{admin.Email, "nobody@nowhere.test"} {
		for i := 1; i <= testPolicy.AccountLimit; i++ {
			if res := e.tryLogin(email, "wrong password"); res.Status != http.StatusUnauthorized {
				t.Fatalf("%s: failure %d: %d %s", email, i, res.Status, res.Body)
			}
			clock.Advance(time.Second)
		}
		res := e.tryLogin(email, "wrong password")
		if res.Status != http.StatusTooManyRequests {
			t.Fatalf("%s: 11th wrong password: %d %s, want 429", email, res.Status, res.Body)
		}
		retry, err := strconv.Atoi(res.Header.Get("Retry-After"))
		// The oldest failure leaves the window 15 min after it happened,
		// 10 s ago.
		if err != nil || retry < 1 || retry > int(testPolicy.Window.Seconds()) || retry < int((testPolicy.Window-15*time.Second).Seconds()) {
			t.Errorf("%s: Retry-After %q", email, res.Header.Get("Retry-After"))
		}
		if !strings.Contains(string(res.Body), `"too_many_requests"`) {
			t.Errorf("%s: body %s", email, res.Body)
		}
	}
	// Known and unknown accounts get the same answer (the wait aside).
	a, b := e.tryLogin(admin.Email, "x"), e.tryLogin("nobody@nowhere.test", "x")
	if a.Status != b.Status || a.json(t)["error"].(map[string]any)["code"] != b.json(t)["error"].(map[string]any)["code"] {
		t.Errorf("known and unknown accounts differ: %s / %s", a.Body, b.Body)
	}
	// Throttled, even the right password waits: this client has been failing.
	if res := e.tryLogin(admin.Email, testPassword); res.Status != http.StatusTooManyRequests {
		t.Errorf("right password while throttled: %d", res.Status)
	}
	clock.Advance(testPolicy.Window)
	if res := e.tryLogin(admin.Email, testPassword); res.Status != http.StatusOK {
		t.Errorf("right password after the window: %d %s", res.Status, res.Body)
	}
	if got := testutil.ToFloat64(e.metrics.LoginThrottled.WithLabelValues("api", "account")); got != 5 {
		t.Errorf("login_throttled_total{api,account} = %v, want 5", got)
	}
	alerts, err := e.db.EventsOfType(tenancy.WithTenant(context.Background(), e.A.R.ID), string(events.SecurityAlert), 100)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, a := range alerts {
		found = found || strings.Contains(string(a.Data), "login_throttled")
	}
	if !found {
		t.Errorf("no login_throttled security_alert in the account's tenant: %d alerts", len(alerts))
	}
	list, err := e.db.LoginThrottles(context.Background(), time.Time{}, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Kind != "account" {
		t.Errorf("recorded throttles: %+v", list)
	}
}

// TestLoginThrottlePerAddress: one address trying one password on many
// accounts is throttled, whatever account it tries next.
func TestLoginThrottlePerAddress(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	clock := &testClock{now: time.Now().UTC()}
	e.throttled(clock, testPolicy)
	for i := 0; i < testPolicy.AddressLimit; i++ {
		if res := e.tryLogin(fmt.Sprintf("user%d@spray.test", i), "Summer2026!"); res.Status != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d %s", i, res.Status, res.Body)
		}
	}
	res := e.tryLogin(e.A.Users[tenancy.Staff].Email, "Summer2026!")
	if res.Status != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" {
		t.Fatalf("after a spray over %d accounts: %d %s, want 429 with Retry-After", testPolicy.AddressLimit, res.Status, res.Body)
	}
	if got := testutil.ToFloat64(e.metrics.LoginThrottled.WithLabelValues("api", "address")); got != 1 {
		t.Errorf("login_throttled_total{api,address} = %v", got)
	}
	clock.Advance(testPolicy.Window)
	if res := e.tryLogin(e.A.Users[tenancy.Staff].Email, testPassword); res.Status != http.StatusOK {
		t.Errorf("after the window: %d %s", res.Status, res.Body)
	}
}

// TestAPIKeyThrottle: refused API keys from one address close its throttle;
// then even a valid key waits.
func TestAPIKeyThrottle(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	clock := &testClock{now: time.Now().UTC()}
	e.throttled(clock, testPolicy)
	for i := 0; i < testPolicy.APIKeyLimit; i++ {
		if res := e.do("GET", "/admin/tenant_backup/backup_status/"+e.A.R.ID, auth.APIKeyPrefix+"guess"+strconv.Itoa(i), nil); res.Status != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d %s", i, res.Status, res.Body)
		}
	}
	res := e.do("GET", "/admin/tenant_backup/backup_status/"+e.A.R.ID, auth.APIKeyPrefix+"another", nil)
	if res.Status != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" {
		t.Fatalf("after %d refused keys: %d %s", testPolicy.APIKeyLimit, res.Status, res.Body)
	}
	if got := testutil.ToFloat64(e.metrics.LoginThrottled.WithLabelValues("api", "api_key")); got != 1 {
		t.Errorf("login_throttled_total{api,api_key} = %v", got)
	}
	// A token that is not a key is not slowed by the key throttle.
	if res := e.do("GET", "/api/v1/me", e.tokenFor(tenancy.Admin, e.A), nil); res.Status != http.StatusOK {
		t.Errorf("JWT while keys are throttled: %d", res.Status)
	}
}
