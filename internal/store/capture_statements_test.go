package store_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/storetest"
)

// TestChangeLogRecordsEveryRowOfAStatement: a statement that writes many
// rows logs each of them, in the order it wrote them, as one transaction:
// a multi-row insert, a multi-row update (the row it left unchanged not at
// all), an upsert that inserts and one that updates, a delete whose
// cascade removes child rows. A number counter's insert is logged, its
// updates are not (store.CaptureWithoutUpdates).
func TestChangeLogRecordsEveryRowOfAStatement(t *testing.T) {
	db := storetest.Open(t)
	ctx := context.Background()
	r, err := db.CreateRestaurant(ctx, "Statements", "ST")
	if err != nil {
		t.Fatal(err)
	}
	before := changesOf(t, db, r.ID, store.LogPosition{}, time.Now().Add(time.Hour))
	now := time.Now().UTC().Truncate(time.Second)
	cats := []string{store.NewID(), store.NewID(), store.NewID()}
	item, order := store.NewID(), store.NewID()
	lines := []string{store.NewID(), store.NewID()}
	tx, err := db.SQL().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback() //nolint:errcheck // committed below
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(`INSERT INTO menu_categories (restaurant_id, id, name, position, created_at, updated_at)
		VALUES ($1, $2, 'A', 1, $5, $5), ($1, $3, 'B', 2, $5, $5), ($1, $4, 'C', 3, $5, $5)`, r.ID, cats[0], cats[1], cats[2], now)
	exec(`UPDATE menu_categories SET position = CASE WHEN id = $2 THEN 2 ELSE position + 10 END
		WHERE restaurant_id = $1`, r.ID, cats[1])
	upsert := `INSERT INTO number_counters (restaurant_id, id, kind, day, value) VALUES ($1, $2, 'O', '2026-11-30', 1)
		ON CONFLICT (restaurant_id, kind, day) DO UPDATE SET value = number_counters.value + 1`
	exec(upsert, r.ID, store.NewID())
	exec(upsert, r.ID, store.NewID())
	exec(`INSERT INTO menu_categories (restaurant_id, id, name, position, created_at, updated_at) VALUES ($1, $2, 'B', 5, $3, $3)
		ON CONFLICT (restaurant_id, name) DO UPDATE SET position = excluded.position`, r.ID, store.NewID(), now)
	exec(`INSERT INTO menu_items (restaurant_id, id, category_id, name, price_cents, created_at, updated_at)
		VALUES ($1, $2, $3, 'Ramen', 1200, $4, $4)`, r.ID, item, cats[0], now)
	exec(`INSERT INTO orders (restaurant_id, id, number, order_type, status, notes, subtotal_cents, discount_cents,
		total_amount_cents, created_at, updated_at) VALUES ($1, $2, 'ST-1', 'takeout', 'pending', '', 2400, 0, 2400, $3, $3)`, r.ID, order, now)
	exec(`INSERT INTO order_items (restaurant_id, id, order_id, menu_item_id, name, unit_price_cents, quantity, line_total_cents, notes)
		VALUES ($1, $2, $4, $5, 'Ramen', 1200, 1, 1200, ''), ($1, $3, $4, $5, 'Ramen', 1200, 1, 1200, '')`, r.ID, lines[0], lines[1], order, item)
	exec(`DELETE FROM orders WHERE restaurant_id = $1 AND id = $2`, r.ID, order)
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}

	all := changesOf(t, db, r.ID, store.LogPosition{}, time.Now().Add(time.Hour))[len(before):]
	var got []string
	for i, c := range all {
		got = append(got, fmt.Sprintf("%s %s %v", c.Table, c.Op, c.Row["id"]))
		if i > 0 && (c.Seq <= all[i-1].Seq || c.Tx != all[0].Tx || !c.TxAt.Equal(all[0].TxAt)) {
			t.Errorf("change %d: seq %d after %d, tx %s at %s, want one transaction %s at %s", i, c.Seq, all[i-1].Seq, c.Tx, c.TxAt, all[0].Tx, all[0].TxAt)
		}
	}
	counter := all[5].Row["id"]
	want := []string{
		"menu_categories insert " + cats[0], "menu_categories insert " + cats[1], "menu_categories insert " + cats[2],
		"menu_categories update " + cats[0], "menu_categories update " + cats[2],
		fmt.Sprintf("number_counters insert %v", counter), "menu_categories update " + cats[1],
		"menu_items insert " + item, "orders insert " + order,
		"order_items insert " + lines[0], "order_items insert " + lines[1],
	}
	if len(got) != len(want)+3 || !slices.Equal(got[:len(want)], want) {
		t.Fatalf("logged:\n%q\nwant first:\n%q\nthen the order and its two lines deleted", got, want)
	}
	deleted := slices.Clone(got[len(want):])
	slices.Sort(deleted)
	wantDeleted := []string{"order_items delete " + lines[0], "order_items delete " + lines[1], "orders delete " + order}
	slices.Sort(wantDeleted)
	if !slices.Equal(deleted, wantDeleted) {
		t.Errorf("the delete and its cascade logged %q, want %q", deleted, wantDeleted)
	}
	if up := all[3]; fmt.Sprint(up.Old["position"]) != "1" || fmt.Sprint(up.Row["position"]) != "11" || len(up.Old) != 1 {
		t.Errorf("multi-row update: row %v old %v", up.Row, up.Old)
	}
	if up := all[6]; fmt.Sprint(up.Old["position"]) != "2" || fmt.Sprint(up.Row["position"]) != "5" || len(up.Old) != 1 {
		t.Errorf("upsert that updates: row %v old %v", up.Row, up.Old)
	}
}

// TestWriteReturningRowsRunTwiceWhileOpen: a write that returns rows, run
// again in its transaction while the first run's rows are still open (the
// store keeps such statements prepared on SQLite), gives both runs' rows,
// and both writes are logged.
func TestWriteReturningRowsRunTwiceWhileOpen(t *testing.T) {
	db := storetest.Open(t)
	if db.Engine == store.Postgres {
		t.Skip("a PostgreSQL connection runs one query at a time: the rows must be read before the next")
	}
	ctx := context.Background()
	r, err := db.CreateRestaurant(ctx, "Returning", "RT")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	q := `INSERT INTO menu_categories (restaurant_id, id, name, position, created_at, updated_at)
		VALUES ($1, $2, $3, 1, $4, $4), ($1, $5, $6, 2, $4, $4) RETURNING name`
	tx, err := db.SQL().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback() //nolint:errcheck // committed below
	first, err := tx.QueryContext(ctx, q, r.ID, store.NewID(), "A", now, store.NewID(), "B")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	if !first.Next() {
		t.Fatalf("first run: no row (%v)", first.Err())
	}
	var name string
	if err := first.Scan(&name); err != nil {
		t.Fatal(err)
	}
	names = append(names, name)
	second, err := tx.QueryContext(ctx, q, r.ID, store.NewID(), "C", now, store.NewID(), "D")
	if err != nil {
		t.Fatal(err)
	}
	for _, rows := range []interface {
		Next() bool
		Scan(...any) error
		Err() error
		Close() error
	}{first, second} {
		for rows.Next() {
			if err := rows.Scan(&name); err != nil {
				t.Fatal(err)
			}
			names = append(names, name)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
	}
	// The kept statement is free again: a third run.
	if _, err := tx.ExecContext(ctx, q, r.ID, store.NewID(), "E", now, store.NewID(), "F"); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"A", "B", "C", "D"}) {
		t.Errorf("returned %q, want A B C D", names)
	}
	var logged int
	for _, c := range changesOf(t, db, r.ID, store.LogPosition{}, time.Now().Add(time.Hour)) {
		if c.Table == "menu_categories" && c.Op == store.OpInsert {
			logged++
		}
	}
	if logged != 6 {
		t.Errorf("%d inserts logged, want 6", logged)
	}
}
