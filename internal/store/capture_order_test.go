package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/menu"
	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/storetest"
)

// TestSQLiteMomentsFollowSeq pins what the shipper reads SQLite's log by:
// within a restaurant a change's moment never decreases as its seq grows,
// and a transaction's changes are contiguous in seq, even when the clock
// reads earlier than a moment already logged and several writers race.
func TestSQLiteMomentsFollowSeq(t *testing.T) {
	if storetest.URL() != "" {
		t.Skip("SQLite's log only: PostgreSQL's transactions commit in any order")
	}
	db := storetest.Open(t)
	ctx := context.Background()
	r, tctx, cat := newMenu(t, db, "Clockwork", "CW")
	// A change logged a minute ahead of the clock, as after the system
	// clock steps back: every later change must be dated no earlier.
	tx, err := db.SQL().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	ahead := time.Now().Add(time.Minute).UTC().Format("2006-01-02T15:04:05.000000Z")
	if _, err := tx.ExecContext(ctx, `UPDATE capture_clock SET at = $1 WHERE id = 1`, ahead); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE menu_categories SET name = 'Mains ahead' WHERE restaurant_id = $1`, r.ID); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w := range 4 {
		wg.Go(func() {
			for i := range 15 {
				if _, err := store.Create(tctx, db, store.MenuItems, menu.Item{ItemFields: menu.ItemFields{CategoryID: cat.ID,
					Name: fmt.Sprintf("Dish %d-%d", w, i), PriceCents: 100, Available: true}}); err != nil {
					errs <- err
					return
				}
				if i%5 == 0 {
					if _, err := db.SQL().ExecContext(ctx, `UPDATE menu_items SET price_cents = price_cents + 1 WHERE restaurant_id = $1`, r.ID); err != nil {
						errs <- err
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var last store.Change
	ended := map[string]bool{} // transactions followed by another's change
	n := 0
	if err := db.ChangesSince(ctx, r.ID, store.LogPosition{}, time.Now().Add(time.Hour), func(c store.Change) error {
		if n > 0 {
			if c.Seq <= last.Seq {
				t.Errorf("seq %d after %d", c.Seq, last.Seq)
			}
			if c.TxAt.Before(last.TxAt) {
				t.Errorf("change %d at %s after change %d at %s: the moment went back", c.Seq, c.TxAt, last.Seq, last.TxAt)
			}
			if c.Tx != last.Tx {
				ended[last.Tx] = true
			}
			if ended[c.Tx] && c.Tx != last.Tx {
				t.Errorf("change %d of transaction %s after another transaction's", c.Seq, c.Tx)
			}
		}
		last = c
		n++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n < 62 {
		t.Errorf("only %d changes logged", n)
	}
}
