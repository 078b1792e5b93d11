package httpapi_test

import (
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/httpapi"
	"github.com/shimizu-tech/ordersuite/internal/storetest"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// TestEveryRouteAnswersOnOneConnection: every route answers, for a role it
// allows, while all but one of the pool's connections are held elsewhere.
// A request that asks the pool for a second connection while it holds one
// (inside a transaction) waits for the others; under load they may all be
// requests waiting for that transaction's lock, and the wait ends only when
// SQLite's busy timeout fails them, 10 s later, or never on PostgreSQL.
func TestEveryRouteAnswersOnOneConnection(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	size := storetest.PoolSize(e.db)
	client := &http.Client{Timeout: 20 * time.Second}
	for _, rt := range httpapi.Routes() {
		token, headers := "", []string(nil)
		if rt.Roles != nil {
			for _, role := range tenancy.Roles {
				if rt.Allows(role) {
					token, headers = e.tokenFor(role, e.A), tenantHeaderFor(role, e.A)
					break
				}
			}
		}
		// The fixtures of its path are made before the pool is taken.
		req := e.request(rt.Method, e.pathFor(rt, e.A), token, bodyFor(rt), headers...)
		release := storetest.HoldConnections(t, e.db, size-1)
		resp, err := client.Do(req)
		release()
		if err != nil {
			t.Errorf("%s with one connection free: %v", routeName(rt), err)
			continue
		}
		answer, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			t.Errorf("%s with one connection free: %d %s", routeName(rt), resp.StatusCode, answer)
		}
	}
}
