package tenancy

import (
	"context"
	"testing"
)

type otherKey struct{}

// TestContextValues: the tenant and principal contexts answer their own
// key, pass every other to their parent (values, cancellation), and the
// innermost tenant wins.
func TestContextValues(t *testing.T) {
	parent, cancel := context.WithCancel(context.WithValue(context.Background(), otherKey{}, "kept"))
	if _, ok := Tenant(parent); ok {
		t.Fatal("a tenant in a context that has none")
	}
	if _, ok := PrincipalFrom(parent); ok {
		t.Fatal("a principal in a context that has none")
	}
	p := Principal{UserID: "u1", RestaurantID: "r1", Role: Admin}
	ctx := WithTenant(WithPrincipal(WithTenant(parent, "r0"), p), "r1")
	if id, ok := Tenant(ctx); !ok || id != "r1" {
		t.Errorf("Tenant = %q, %v; want r1", id, ok)
	}
	if got, ok := PrincipalFrom(ctx); !ok || got != p {
		t.Errorf("PrincipalFrom = %+v, %v; want %+v", got, ok, p)
	}
	if id, ok := Tenant(WithTenant(ctx, "")); ok {
		t.Errorf("an empty tenant read as %q", id)
	}
	if v := ctx.Value(otherKey{}); v != "kept" {
		t.Errorf("another key's value %v, want kept", v)
	}
	child, stop := context.WithCancel(ctx)
	defer stop()
	cancel()
	<-child.Done() // cancellation reaches through both
	if ctx.Err() == nil {
		t.Error("the tenant context is not cancelled with its parent")
	}
}

func BenchmarkRequestContext(b *testing.B) {
	p := Principal{UserID: "u1", RestaurantID: "r1", Role: Admin}
	b.ReportAllocs()
	for b.Loop() {
		ctx := WithTenant(WithPrincipal(context.Background(), p), "r1")
		if id, _ := Tenant(ctx); id != "r1" {
			b.Fatal(id)
		}
	}
}
