package backup_test

import (
	"context"
	"math/rand/v2"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/backup/changelog"
	"github.com/shimizu-tech/ordersuite/internal/demo"
	"github.com/shimizu-tech/ordersuite/internal/payments"
)

// TestRPOUnderSteadyLoad measures the recovery point while a restaurant is
// written to steadily and the shipper runs at the default interval: every
// half second, the age of the moment up to which the log is shipped. Set
// ORDERSUITE_BENCH_RPO=90s (the measuring time) to run it.
func TestRPOUnderSteadyLoad(t *testing.T) {
	d, err := time.ParseDuration(os.Getenv("ORDERSUITE_BENCH_RPO"))
	if err != nil {
		t.Skip("set ORDERSUITE_BENCH_RPO to a duration to measure the RPO under load")
	}
	s, creds := newDemoService(t, demo.HistoryDays)
	ctx := context.Background()
	tr := &traffic{t: t, db: s.DB, rid: creds.RestaurantID, rng: rand.New(rand.NewPCG(1, 2)), gw: &payments.TestGateway{}, ops: map[string]int{}}
	runCtx, stop := context.WithTimeout(ctx, d)
	defer stop()
	shipper := &changelog.Shipper{DB: s.DB, Objects: s.ChangeObjects()}
	go shipper.Run(runCtx, changelog.DefaultInterval)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for runCtx.Err() == nil {
			tr.step()
			time.Sleep(20 * time.Millisecond)
		}
	}()
	var rpos []float64
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	warm := time.Now().Add(changelog.DefaultInterval + 2*time.Second)
	for runCtx.Err() == nil {
		<-tick.C
		st, err := s.DB.ChangeShipState(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if time.Now().After(warm) && !st.Cut.At.IsZero() {
			rpos = append(rpos, time.Since(st.Cut.At).Seconds())
		}
	}
	<-done
	slices.Sort(rpos)
	if len(rpos) == 0 {
		t.Fatal("nothing shipped")
	}
	mean := 0.0
	for _, r := range rpos {
		mean += r
	}
	mean /= float64(len(rpos))
	ops := 0
	for _, n := range tr.ops {
		ops += n
	}
	t.Logf("%s engine, %d operations in %s (%.0f/s), shipped every %s: RPO mean %.1f s, p50 %.1f s, p99 %.1f s, max %.1f s (%d samples)",
		s.DB.Engine, ops, d, float64(ops)/d.Seconds(), changelog.DefaultInterval, mean, rpos[len(rpos)/2], rpos[len(rpos)*99/100], rpos[len(rpos)-1], len(rpos))
	if rpos[len(rpos)-1] > 60 {
		t.Errorf("RPO reached %.1f s, target at most 60 s", rpos[len(rpos)-1])
	}
}
