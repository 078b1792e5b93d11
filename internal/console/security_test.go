package console_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// TestSecurityPage: the operator sees recent sign-in throttles and the
// platform's audit trail, where a global flag change appears; a
// restaurant admin may not open the page.
func TestSecurityPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.db.RecordLoginThrottle(ctx, store.LoginThrottle{Kind: "account", Subject: "victim@example.test",
		IP: "203.0.113.9", Failures: 10, Until: time.Now().Add(15 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	op := tenancy.WithPrincipal(ctx, tenancy.Principal{UserID: e.super.ID, Role: tenancy.SuperAdmin})
	if _, err := e.flags.Enable(op, "advanced_analytics", true, nil); err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	b.login("root@platform.test")
	p := b.get("/console/security")
	if p.Status != 200 {
		t.Fatalf("security page: %d", p.Status)
	}
	for _, want := range []string{"victim@example.test", "203.0.113.9", "advanced_analytics", "platform"} {
		if !strings.Contains(p.Body, want) {
			t.Errorf("security page lacks %q", want)
		}
	}
	a := e.browser()
	a.login(e.admin[e.A.ID].Email)
	if p := a.get("/console/security"); p.Status == 200 {
		t.Errorf("admin opened the security page")
	}
}
