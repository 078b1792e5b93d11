package store_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/shimizu-tech/ordersuite/internal/storetest"
)

// TestWALFlushesShared: orders of many restaurants placed at once share
// WAL flushes (fewer flushes are sent than orders wait for one), every
// order is answered and stored, and a flush that fails (its caller gone)
// fails only for that caller: the next one is sent.
func TestWALFlushesShared(t *testing.T) {
	requirePostgres(t)
	t.Parallel()
	db := storetest.Open(t)
	var kitchens []kitchen
	for i := range 8 {
		kitchens = append(kitchens, newKitchen(t, db, fmt.Sprintf("Flush %d", i), fmt.Sprintf("F%d", i)))
	}
	const clients, each = 32, 6
	errs := parallel(clients, func(c int) error {
		k := kitchens[c%len(kitchens)]
		for range each {
			if _, err := db.CreateOrder(k.ctx, plain(k, "")); err != nil {
				return err
			}
		}
		return nil
	})
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	var stored int
	if err := db.SQL().QueryRowContext(context.Background(), `SELECT count(*) FROM orders`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if stored != clients*each {
		t.Errorf("%d orders stored, want %d", stored, clients*each)
	}
	sent, served := db.WALFlushes()
	if served == 0 || sent >= served {
		t.Errorf("%d WAL flushes sent for %d callers: none shared", sent, served)
	}

	// A flush whose caller is gone fails for that caller alone, and the
	// one after it is sent.
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	if err := db.FlushWAL(gone); err == nil {
		t.Error("a flush whose caller is gone reported success")
	}
	if err := db.FlushWAL(context.Background()); err != nil {
		t.Errorf("the flush after a failed one: %v", err)
	}
	if after, _ := db.WALFlushes(); after != sent+2 {
		t.Errorf("%d flushes sent after the two alone, want %d", after, sent+2)
	}
	if _, err := db.CreateOrder(kitchens[0].ctx, plain(kitchens[0], "")); err != nil {
		t.Errorf("the order after a failed flush: %v", err)
	}
}
