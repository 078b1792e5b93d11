package httpapi_test

import (
	"context"
	"testing"

	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

func init() {
	resourceFixtures["/admin/sdk_keys/{id}"] = func(e *env, tn tenant) map[string]string {
		k, _ := e.newSDKKey(tn, "fixture")
		return map[string]string{"id": k}
	}
	validBodies["POST /admin/sdk_keys"] = map[string]any{"name": "web shop"}
}

// newSDKKey makes a key of tn and returns its id and secret.
func (e *env) newSDKKey(tn tenant, name string) (id, key string) {
	e.t.Helper()
	ctx := tenancy.WithTenant(context.Background(), tn.R.ID)
	k, key, err := e.auth.CreateSDKKey(ctx, name)
	if err != nil {
		e.t.Fatal(err)
	}
	return k.ID, key
}

var _ = testing.T{}
