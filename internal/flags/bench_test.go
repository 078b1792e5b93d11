package flags_test

import (
	"context"
	"crypto/md5"
	"encoding/binary"
	"testing"

	"github.com/shimizu-tech/ordersuite/internal/flags"
	"github.com/shimizu-tech/ordersuite/internal/storetest"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// benchEntity is a UUID, the usual entity id.
const benchEntity = "0193a1b2-7c4d-7e8f-9a0b-1c2d3e4f5a6b"

func benchService(b *testing.B) (*flags.Service, context.Context) {
	db := storetest.Open(b)
	ctx := context.Background()
	r, err := db.CreateRestaurant(ctx, "Alpha", "AA")
	if err != nil {
		b.Fatal(err)
	}
	svc := flags.New(db, flags.Options{})
	a := tenancy.WithTenant(ctx, r.ID)
	on := true
	if _, err := svc.Create(a, "new_order_ui", false, flags.Change{Enabled: &on}); err != nil {
		b.Fatal(err)
	}
	if _, err := svc.Create(a, "checkout_rollout", false, flags.Change{Enabled: &on, Percentage: pct(30)}); err != nil {
		b.Fatal(err)
	}
	svc.Enabled(a, "new_order_ui", "") // load the tenant's snapshot
	return svc, a
}

// BenchmarkEvaluateHit: an enabled flag without a percentage.
func BenchmarkEvaluateHit(b *testing.B) {
	svc, ctx := benchService(b)
	b.ReportAllocs()
	for b.Loop() {
		if !svc.Enabled(ctx, "new_order_ui", benchEntity) {
			b.Fatal("off")
		}
	}
}

// BenchmarkEvaluateMiss: a key the tenant does not have.
func BenchmarkEvaluateMiss(b *testing.B) {
	svc, ctx := benchService(b)
	b.ReportAllocs()
	for b.Loop() {
		if svc.Enabled(ctx, "no_such_flag", benchEntity) {
			b.Fatal("on")
		}
	}
}

// BenchmarkEvaluatePercentage: a 30 % rollout, decided by MD5.
func BenchmarkEvaluatePercentage(b *testing.B) {
	svc, ctx := benchService(b)
	b.ReportAllocs()
	for b.Loop() {
		svc.Enabled(ctx, "checkout_rollout", benchEntity)
	}
}

var sink bool

// BenchmarkMD5Floor is the least any evaluator of the seed's rule does:
// build "key:id", MD5 it, reduce mod 100, compare.
func BenchmarkMD5Floor(b *testing.B) {
	key, id := "checkout_rollout", benchEntity
	b.ReportAllocs()
	for b.Loop() {
		var buf [64]byte
		n := copy(buf[:], key)
		buf[n] = ':'
		n++
		n += copy(buf[n:], id)
		sum := md5.Sum(buf[:n])
		hi, lo := binary.BigEndian.Uint64(sum[:8]), binary.BigEndian.Uint64(sum[8:])
		sink = (hi%100*16+lo%100)%100 < 30
	}
}

var bucketSink int

// BenchmarkBucket is the hashing alone, as the evaluator does it.
func BenchmarkBucket(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		bucketSink = flags.Bucket("checkout_rollout", benchEntity)
	}
}
