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
	svc.Enabled(a, key, entity)
	b.ReportAllocs()
	for b.Loop() {
		sink = svc.Enabled(a, key, entity)
	}
}

// BenchmarkMD5Floor: "key:id", MD5, mod 100, compare — nothing else.
func BenchmarkMD5Floor(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		var buf [64]byte
		n := copy(buf[:], key)
		buf[n] = ':'
		n++
		n += copy(buf[n:], entity)
		sum := md5.Sum(buf[:n])
		hi, lo := binary.BigEndian.Uint64(sum[:8]), binary.BigEndian.Uint64(sum[8:])
		sink = (hi%100*16+lo%100)%100 < 30
	}
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
	defer c.Close()
	uctx := ucontext.Context{UserId: entity}
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
	b.ReportAllocs()
	for b.Loop() {
		sink = c.IsEnabled(key, unleash.WithContext(uctx))
	}
}
