package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/menu"
	"github.com/shimizu-tech/ordersuite/internal/ordering"
	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/storetest"
)

// TestWritesNeedOneConnection: a write holds one of the pool's connections
// from its first statement to its commit, and asks for no other. Under
// load every other connection may be waiting for the write lock that
// transaction holds (SQLite's writers queue on it for up to the busy
// timeout): a second connection asked for inside the transaction is a
// deadlock that ends only when those writers give up, with "database is
// locked". The event writer's first full batch and a first order of a
// fresh database did so. Here the other connections are held by the test
// while each write runs, on a fresh database (nothing prepared or looked up
// yet).
func TestWritesNeedOneConnection(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t)
	ctx := context.Background()
	r, tctx, c := newMenu(t, db, "Pool", "PO")
	f := menu.NewItemFields()
	f.CategoryID, f.Name, f.PriceCents, f.Available = c.ID, "Soup", 650, true
	item, err := store.Create(tctx, db, store.MenuItems, menu.Item{ItemFields: f})
	if err != nil {
		t.Fatal(err)
	}
	rid := r.ID

	size := storetest.PoolSize(db)
	if size < 2 {
		t.Fatalf("a pool of %d connections", size)
	}
	events := make([]store.TenantEvent, 1000) // two full chunks of SQLite's multi-row insert
	for i := range events {
		events[i] = store.TenantEvent{RestaurantID: rid, Type: "api_request", Data: []byte(`{"path":"/x"}`)}
	}
	writes := []struct {
		name string
		run  func() error
	}{
		{"a batch of events", func() error { return db.InsertEvents(ctx, events) }},
		{"an order", func() error {
			_, err := db.CreateOrder(tctx, ordering.Request{OrderType: ordering.Takeout,
				Items: []ordering.LineRequest{{MenuItemID: item.ID, Quantity: 2}}})
			return err
		}},
	}
	for _, w := range writes {
		release := storetest.HoldConnections(t, db, size-1)
		done := make(chan error, 1)
		go func() { done <- w.run() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("%s with one connection free: %v", w.name, err)
			}
		case <-time.After(20 * time.Second):
			t.Errorf("%s did not finish on the one free connection: it waits for another", w.name)
			release()
			<-done
		}
		release()
	}
}
