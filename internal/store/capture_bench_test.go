package store_test

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/menu"
	"github.com/shimizu-tech/ordersuite/internal/ordering"
	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/storetest"
)

// BenchmarkCreateOrderCapture measures what the change log costs one
// order's transaction, without HTTP and without concurrency: orders of
// three lines created one after another, in short rounds with capture off
// and on alternately, the fastest round of each kept (the machine's other
// load falls on some rounds, not on the work). It reports µs per order of
// each and their ratio.
//
//	go test ./internal/store -run '^$' -bench CreateOrderCapture -benchtime 4000x
func BenchmarkCreateOrderCapture(b *testing.B) {
	db := storetest.Open(b)
	ctx := context.Background()
	_, tctx, c := newMenu(b, db, "Bench", "BN")
	req := ordering.Request{OrderType: ordering.Takeout}
	for i, price := range []int64{1450, 750, 300} {
		f := menu.NewItemFields()
		f.CategoryID, f.Name, f.PriceCents = c.ID, string(rune('A'+i)), price
		it, err := store.Create(tctx, db, store.MenuItems, menu.Item{ItemFields: f})
		if err != nil {
			b.Fatal(err)
		}
		req.Items = append(req.Items, ordering.LineRequest{MenuItemID: it.ID, Quantity: 1 + i})
	}
	const round = 200
	best := [2]time.Duration{1 << 62, 1 << 62}
	var cpu [2]time.Duration
	var orders [2]int
	b.ResetTimer()
	for done, r := 0, 0; done < b.N || r < 2; r++ { // at least one round each way
		on := r%2 == 1
		b.StopTimer()
		if err := db.SetCapture(ctx, on); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start, startCPU := time.Now(), processCPU()
		for i := 0; i < round; i++ {
			if _, err := db.CreateOrder(tctx, req); err != nil {
				b.Fatal(err)
			}
		}
		took := time.Since(start)
		i := 0
		if on {
			i = 1
		}
		best[i] = min(best[i], took)
		cpu[i] += processCPU() - startCPU
		orders[i] += round
		done += round
	}
	b.StopTimer()
	if err := db.SetCapture(ctx, true); err != nil {
		b.Fatal(err)
	}
	off, on := float64(best[0].Microseconds())/round, float64(best[1].Microseconds())/round
	b.ReportMetric(off, "µs/order-off")
	b.ReportMetric(on, "µs/order-on")
	b.ReportMetric(off/on, "on/off")
	if db.Engine == store.SQLite {
		// SQLite works in this process: its CPU time per order, which the
		// machine's other load does not change.
		offCPU := float64(cpu[0].Microseconds()) / float64(orders[0])
		onCPU := float64(cpu[1].Microseconds()) / float64(orders[1])
		b.ReportMetric(offCPU, "cpu-µs/order-off")
		b.ReportMetric(onCPU, "cpu-µs/order-on")
		b.ReportMetric(offCPU/onCPU, "cpu-on/off")
	}
}

// processCPU is the CPU time this process has used, user and system.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
