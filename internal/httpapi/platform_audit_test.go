package httpapi_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

type platformPage struct {
	Entries []struct {
		ID           string          `json:"id"`
		RestaurantID string          `json:"restaurant_id"`
		ActorID      string          `json:"actor_id"`
		ActorRole    string          `json:"actor_role"`
		Action       string          `json:"action"`
		ResourceType string          `json:"resource_type"`
		After        json.RawMessage `json:"after"`
	} `json:"entries"`
	NextCursor string `json:"next_cursor"`
}

// TestPlatformAuditLog: a super_admin reads a global flag change, and an
// operator's change of a restaurant's status, in the platform's audit
// trail, filtered by actor, action and time and paged by cursor; nobody
// else may read it.
func TestPlatformAuditLog(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	super := e.tokenFor(tenancy.SuperAdmin, e.A)
	if res := e.do("POST", "/admin/feature_flags/enable_globally", super, map[string]any{"key": "advanced_analytics"}); res.Status != http.StatusOK {
		t.Fatalf("enable_globally: %d %s", res.Status, res.Body)
	}
	if res := e.do("POST", "/admin/restaurants/"+e.B.R.ID+"/status", super, map[string]any{"status": "read_only"}); res.Status != http.StatusOK {
		t.Fatalf("status: %d %s", res.Status, res.Body)
	}
	// A tenant admin's own change is the tenant's, not the platform's.
	if res := e.do("PATCH", "/api/v1/restaurants/"+e.A.R.ID, e.tokenFor(tenancy.Admin, e.A), map[string]any{"name": "Alpha Renamed"}); res.Status != http.StatusOK {
		t.Fatalf("rename: %d %s", res.Status, res.Body)
	}

	res := e.do("GET", "/admin/audit_log?scope=platform", super, nil)
	if res.Status != http.StatusOK {
		t.Fatalf("platform audit log: %d %s", res.Status, res.Body)
	}
	page := decode[platformPage](t, res)
	if len(page.Entries) != 2 {
		t.Fatalf("%d entries, want the flag change and the status change: %s", len(page.Entries), res.Body)
	}
	flag, status := page.Entries[1], page.Entries[0] // newest first
	if flag.RestaurantID != "" || flag.ActorID != e.super.ID || !strings.Contains(string(flag.After), "advanced_analytics") {
		t.Errorf("global flag change: %+v", flag)
	}
	if status.Action != "set_status" || status.RestaurantID != e.B.R.ID || !strings.Contains(string(status.After), "read_only") {
		t.Errorf("status change: %+v", status)
	}

	// Filters.
	for query, want := range map[string]int{
		"action=set_status":                       1,
		"action=nothing_like_it":                  0,
		"actor_id=" + e.super.ID:                  2,
		"actor_id=" + e.A.Users[tenancy.Admin].ID: 0,
		"from=2000-01-01T00:00:00Z":               2,
		"to=2000-01-01T00:00:00Z":                 0,
	} {
		res := e.do("GET", "/admin/audit_log?scope=platform&"+query, super, nil)
		if n := len(decode[platformPage](t, res).Entries); res.Status != http.StatusOK || n != want {
			t.Errorf("%s: %d, %d entries, want %d: %s", query, res.Status, n, want, res.Body)
		}
	}

	// Paging by cursor: one entry a page, newest first, nothing twice.
	var seen []string
	cursor := ""
	for i := 0; i < 5; i++ {
		res := e.do("GET", "/admin/audit_log?scope=platform&per_page=1&cursor="+url.QueryEscape(cursor), super, nil)
		p := decode[platformPage](t, res)
		for _, en := range p.Entries {
			seen = append(seen, en.ID)
		}
		if p.NextCursor == "" {
			break
		}
		cursor = p.NextCursor
	}
	if len(seen) != 2 || seen[0] != status.ID || seen[1] != flag.ID {
		t.Errorf("paged: %v, want [%s %s]", seen, status.ID, flag.ID)
	}

	// Only operators read it; bad parameters are 400s naming them.
	if res := e.do("GET", "/admin/audit_log?scope=platform", e.tokenFor(tenancy.Admin, e.A), nil); res.Status != http.StatusForbidden {
		t.Errorf("admin: %d, want 403", res.Status)
	}
	for _, q := range []string{"scope=everything", "scope=platform&cursor=garbage", "scope=platform&actor_id=nope", "scope=platform&from=yesterday", "actor_id=" + e.super.ID} {
		res := e.do("GET", "/admin/audit_log?"+q, super, nil, "X-Restaurant-ID", e.A.R.ID)
		if res.Status != http.StatusBadRequest || res.json(t)["error"].(map[string]any)["field"] == nil {
			t.Errorf("%s: %d %s, want 400 naming the field", q, res.Status, res.Body)
		}
	}
	// The tenant's own log still works as before.
	if res := e.do("GET", "/admin/audit_log", e.tokenFor(tenancy.Admin, e.A), nil); res.Status != http.StatusOK || !strings.Contains(string(res.Body), "Alpha Renamed") {
		t.Errorf("tenant log: %d %s", res.Status, res.Body)
	}
}
