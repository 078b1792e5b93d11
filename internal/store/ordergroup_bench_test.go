package store_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/ordering"
	"github.com/shimizu-tech/ordersuite/internal/storetest"
)

// BenchmarkOrdersOneRestaurant compares plain orders of one restaurant
// with the same clients' orders spread over ten restaurants, in process
// (store.CreateOrder, no HTTP). The two alternate in short windows, so a
// machine whose other load comes and goes weighs on both alike; the figure
// to read is one-vs-ten, the ratio of their orders per second.
//
//	TEST_DATABASE_URL=… go test -run '^$' -bench BenchmarkOrdersOneRestaurant ./internal/store
func BenchmarkOrdersOneRestaurant(b *testing.B) {
	if storetest.URL() == "" {
		b.Skip("one restaurant's orders queue on PostgreSQL's row lock: set TEST_DATABASE_URL")
	}
	const clients, windows = 16, 10
	window := 500 * time.Millisecond
	db := storetest.Open(b)
	var kitchens []kitchen
	for i := range 10 {
		kitchens = append(kitchens, newKitchen(b, db, fmt.Sprint("Bench ", i), fmt.Sprintf("B%d", i)))
	}
	run := func(restaurants int) (int64, time.Duration) {
		var n atomic.Int64
		var failed atomic.Value
		ctx, cancel := context.WithTimeout(context.Background(), window)
		defer cancel()
		var wg sync.WaitGroup
		start := time.Now()
		for c := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				k := kitchens[c%restaurants]
				for ctx.Err() == nil {
					if _, err := db.CreateOrder(k.ctx, ordering.Request{OrderType: ordering.Takeout,
						Items: []ordering.LineRequest{{MenuItemID: k.item.ID, Quantity: 2}, {MenuItemID: k.item.ID, Quantity: 1}}}); err != nil {
						failed.Store(err)
						return
					}
					n.Add(1)
				}
			}()
		}
		wg.Wait()
		if err, _ := failed.Load().(error); err != nil {
			b.Fatal(err)
		}
		return n.Load(), time.Since(start)
	}
	run(10) // warm the pool's connections and their prepared statements
	b.ResetTimer()
	var one, ten int64
	var oneT, tenT time.Duration
	for range b.N {
		for range windows {
			n, d := run(1)
			one, oneT = one+n, oneT+d
			n, d = run(10)
			ten, tenT = ten+n, tenT+d
		}
	}
	b.StopTimer()
	oneRate, tenRate := float64(one)/oneT.Seconds(), float64(ten)/tenT.Seconds()
	b.ReportMetric(oneRate, "orders/s-1R")
	b.ReportMetric(tenRate, "orders/s-10R")
	b.ReportMetric(oneRate/tenRate, "one-vs-ten")
	b.ReportMetric(0, "ns/op")
}
