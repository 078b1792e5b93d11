package console_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// TestSDKKeysPage: an admin creates a key (shown once), sees it listed
// without its secret, and revokes it; another restaurant's admin sees none
// of it.
func TestSDKKeysPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.browser()
	b.login(e.admin[e.A.ID].Email)
	p := b.get(tenantPath(e.A.ID, "/sdk_keys"))
	if p.Status != http.StatusOK || !strings.Contains(p.Body, "No keys yet") {
		t.Fatalf("page: %d %s", p.Status, p.Body)
	}
	if p := b.post(tenantPath(e.A.ID, "/sdk_keys"), url.Values{"name": {"  "}}); p.Status != http.StatusUnprocessableEntity {
		t.Errorf("blank name: %d", p.Status)
	}
	p = b.post(tenantPath(e.A.ID, "/sdk_keys"), url.Values{"name": {"till-display"}})
	secret := regexp.MustCompile(`ossdk_[A-Za-z0-9_-]+`).FindString(p.Body)
	if p.Status != http.StatusCreated || secret == "" {
		t.Fatalf("create: %d %s", p.Status, p.Body)
	}
	p = b.get(tenantPath(e.A.ID, "/sdk_keys"))
	if !strings.Contains(p.Body, "till-display") || strings.Contains(p.Body, secret) {
		t.Errorf("list shows the secret or not the key:\n%s", p.Body)
	}
	keys, err := e.db.SDKKeys(tenancy.WithTenant(context.Background(), e.A.ID))
	if err != nil || len(keys) != 1 {
		t.Fatalf("stored keys: %v %v", keys, err)
	}
	other := e.browser()
	other.login(e.admin[e.B.ID].Email)
	if p := other.get(tenantPath(e.B.ID, "/sdk_keys")); strings.Contains(p.Body, "till-display") {
		t.Error("B's admin sees A's key")
	}
	if p := other.post(tenantPath(e.B.ID, "/sdk_keys/"+keys[0].ID+"/revoke"), nil); p.Status != http.StatusNotFound {
		t.Errorf("B revoking A's key: %d", p.Status)
	}
	b.get(tenantPath(e.A.ID, "/sdk_keys"))
	if p := b.post(tenantPath(e.A.ID, "/sdk_keys/"+keys[0].ID+"/revoke"), nil); p.Status != http.StatusSeeOther {
		t.Fatalf("revoke: %d %s", p.Status, p.Body)
	}
	if p := b.get(tenantPath(e.A.ID, "/sdk_keys")); !strings.Contains(p.Body, "revoked") {
		t.Errorf("after revoking: %s", p.Body)
	}
}
