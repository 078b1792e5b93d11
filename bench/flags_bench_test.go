// Package bench compares the product's flag evaluation with the Unleash Go
// client deciding the same percentage rollout locally. It is a separate
// module so that the product does not depend on Unleash.
package bench

import (
	"context"
	"crypto/md5"
	"encoding/binary"
	"strconv"
	"strings"
	"testing"
	"time"

	unleash "github.com/Unleash/unleash-client-go/v4"
	ucontext "github.com/Unleash/unleash-client-go/v4/context"

	"github.com/shimizu-tech/ordersuite/internal/flags"
	"github.com/shimizu-tech/ordersuite/internal/storetest"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

const (
	key    = "checkout_rollout"
	entity = "0193a1b2-7c4d-7e8f-9a0b-1c2d3e4f5a6b"
)

var sink bool

// BenchmarkOrdersuitePercentage: a cached 30 % rollout.
func BenchmarkOrdersuitePercentage(b *testing.B) {
	svc, a := ordersuite(b)
	b.ReportAllocs()
	for b.Loop() {
		sink = svc.Enabled(a, key, entity)
	}
}

// BenchmarkOrdersuiteHit: a flag that is on without a percentage.
func BenchmarkOrdersuiteHit(b *testing.B) {
	svc, a := ordersuite(b)
	b.ReportAllocs()
	for b.Loop() {
		sink = svc.Enabled(a, "new_order_ui", entity)
	}
}

// BenchmarkOrdersuiteMiss: a key the restaurant does not have.
func BenchmarkOrdersuiteMiss(b *testing.B) {
	svc, a := ordersuite(b)
	b.ReportAllocs()
	for b.Loop() {
		sink = svc.Enabled(a, "no_such_flag", entity)
	}
}

func ordersuite(b *testing.B) (*flags.Service, context.Context) {
	db := storetest.Open(b)
	ctx := context.Background()
	r, err := db.CreateRestaurant(ctx, "Alpha", "AA")
	if err != nil {
		b.Fatal(err)
	}
	svc := flags.New(db, flags.Options{})
	a := tenancy.WithTenant(ctx, r.ID)
	on, pct := true, 30
	if _, err := svc.Create(a, key, false, flags.Change{Enabled: &on, Percentage: &pct}); err != nil {
		b.Fatal(err)
	}
	if _, err := svc.Create(a, "new_order_ui", false, flags.Change{Enabled: &on}); err != nil {
		b.Fatal(err)
	}
	svc.Enabled(a, key, entity) // load the snapshot
	return svc, a
}

// BenchmarkMD5Floor: "key:id", MD5, mod 100, compare — nothing else.
func BenchmarkMD5Floor(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		sink = floor(key, entity)
	}
}

func floor(key, entity string) bool {
	var buf [64]byte
	n := copy(buf[:], key)
	buf[n] = ':'
	n++
	n += copy(buf[n:], entity)
	sum := md5.Sum(buf[:n])
	hi, lo := binary.BigEndian.Uint64(sum[:8]), binary.BigEndian.Uint64(sum[8:])
	return (hi%100*16+lo%100)%100 < 30
}

// quiet swallows the client's complaints about the unreachable server: the
// toggles come from the bootstrap, evaluation is local.
type quiet struct{}

func (quiet) OnError(error)                   {}
func (quiet) OnWarning(error)                 {}
func (quiet) OnReady()                        {}
func (quiet) OnCount(string, bool)            {}
func (quiet) OnSent(unleash.MetricsData)      {}
func (quiet) OnRegistered(unleash.ClientData) {}

const toggles = `{"version": 1, "features": [
	{"name": "checkout_rollout", "enabled": true,
	 "strategies": [{"name": "flexibleRollout",
		"parameters": {"rollout": "30", "stickiness": "userId", "groupId": "checkout_rollout"}}]},
	{"name": "loaded", "enabled": true, "strategies": [{"name": "default"}]}]}`

// BenchmarkUnleashFlexibleRollout: the same decision by the Unleash client.
func BenchmarkUnleashFlexibleRollout(b *testing.B) {
	c := unleashClient(b)
	uctx := ucontext.Context{UserId: entity}
	b.ReportAllocs()
	for b.Loop() {
		sink = c.IsEnabled(key, unleash.WithContext(uctx))
	}
}

// interleave times a and b in alternating short blocks, so that on a shared
// machine both see the same interference, and reports each one's ns per
// decision and b's time over a's.
func interleave(bm *testing.B, nameA, nameB string, a, b func()) {
	const block = 100
	var ta, tb time.Duration
	n := 0
	for bm.Loop() {
		t0 := time.Now()
		for range block {
			a()
		}
		t1 := time.Now()
		for range block {
			b()
		}
		tb += time.Since(t1)
		ta += t1.Sub(t0)
		n += block
	}
	per := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / float64(n) }
	bm.ReportMetric(per(ta), nameA+"-ns")
	bm.ReportMetric(per(tb), nameB+"-ns")
	bm.ReportMetric(per(tb)/per(ta), nameB+"/"+nameA)
}

// BenchmarkVsFloor: ordersuite/floor is the overhead over bare MD5 + mod.
func BenchmarkVsFloor(b *testing.B) {
	svc, a := ordersuite(b)
	interleave(b, "floor", "ordersuite",
		func() { sink = floor(key, entity) },
		func() { sink = svc.Enabled(a, key, entity) })
}

// BenchmarkVsUnleash: unleash/ordersuite is how many times faster we are.
func BenchmarkVsUnleash(b *testing.B) {
	svc, a := ordersuite(b)
	c := unleashClient(b)
	uctx := ucontext.Context{UserId: entity}
	interleave(b, "ordersuite", "unleash",
		func() { sink = svc.Enabled(a, key, entity) },
		func() { sink = c.IsEnabled(key, unleash.WithContext(uctx)) })
}

func unleashClient(b *testing.B) *unleash.Client {
	c, err := unleash.NewClient(
		unleash.WithAppName("ordersuite-bench"),
		unleash.WithUrl("http://127.0.0.1:9/"),
		unleash.WithListener(quiet{}),
		unleash.WithDisableMetrics(true),
		unleash.WithRefreshInterval(time.Hour),
		unleash.WithStorage(&unleash.BootstrapStorage{Reader: strings.NewReader(toggles)}),
	)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	deadline := time.Now().Add(5 * time.Second)
	for !c.IsEnabled("loaded") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond) // the bootstrap loads asynchronously
	}
	if !c.IsEnabled("loaded") {
		b.Fatal("the bootstrapped toggles never loaded")
	}
	// The rollout really is evaluated: over many users about 30 % are in.
	in := 0
	for i := range 1000 {
		if c.IsEnabled(key, unleash.WithContext(ucontext.Context{UserId: strconv.Itoa(i)})) {
			in++
		}
	}
	if in < 250 || in > 350 {
		b.Fatalf("%d of 1000 users in a 30%% rollout", in)
	}
	return c
}
