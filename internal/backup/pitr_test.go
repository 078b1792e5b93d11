package backup_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/apperr"
	"github.com/shimizu-tech/ordersuite/internal/backup"
	"github.com/shimizu-tech/ordersuite/internal/menu"
	"github.com/shimizu-tech/ordersuite/internal/ordering"
	"github.com/shimizu-tech/ordersuite/internal/payments"
	"github.com/shimizu-tech/ordersuite/internal/reservations"
	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// capturedState is a restaurant's rows in every captured table, in archive
// form, without its own id: two restaurants' states compare directly.
func capturedState(t testing.TB, db *store.DB, rid string) map[string]string {
	t.Helper()
	ctx := context.Background()
	out := map[string]string{}
	err := db.TenantSnapshot(ctx, rid, func(s *store.Snapshot) error {
		for _, table := range store.CapturedTables() {
			cols, err := s.Columns(ctx, table)
			if err != nil {
				return err
			}
			var rows []string
			if err := s.Each(ctx, table, cols, func(vals []any) error {
				row := map[string]any{}
				for i, c := range cols {
					if c.Name == "restaurant_id" || (table == "restaurants" && c.Name == "id") {
						continue
					}
					row[c.Name] = vals[i]
				}
				b, err := json.Marshal(row)
				rows = append(rows, string(b))
				return err
			}); err != nil {
				return err
			}
			out[table] = strings.Join(rows, "\n")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// pitrHistoryDays is the demo history the point-in-time tests start from.
// A few days fill every table the traffic and the restores touch; the
// demo's month would only multiply the rows each of their restores copies.
const pitrHistoryDays = 3

// newSmallDemoService is newService on a copy of the demo restaurant with
// pitrHistoryDays of history, and the restaurant's id.
func newSmallDemoService(t testing.TB) (*backup.Service, string) {
	t.Helper()
	s, creds := newDemoService(t, pitrHistoryDays)
	return s, creds.RestaurantID
}

// traffic makes random changes to one restaurant through the store, as
// the API does: orders, status changes, payments, refunds, menu edits,
// additions and deletions, reservations and their status changes. An
// operation the domain refuses (a transition not allowed, an overpayment)
// changes nothing, like a refused request.
type traffic struct {
	t   testing.TB
	db  *store.DB
	rid string
	rng *rand.Rand
	gw  *payments.TestGateway
	ops map[string]int
}

func (tr *traffic) ids(query string) []string {
	rows, err := tr.db.SQL().QueryContext(context.Background(), query, tr.rid)
	if err != nil {
		tr.t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			tr.t.Fatal(err)
		}
		out = append(out, id)
	}
	return out
}

func (tr *traffic) pick(query string) string {
	ids := tr.ids(query)
	if len(ids) == 0 {
		return ""
	}
	return ids[tr.rng.IntN(len(ids))]
}

func (tr *traffic) step() {
	ctx := tenancy.WithTenant(context.Background(), tr.rid)
	var err error
	op := ""
	switch n := tr.rng.IntN(10); {
	case n < 3:
		op = "order"
		items := tr.ids(`SELECT id FROM menu_items WHERE restaurant_id = $1 AND available ORDER BY id`)
		if len(items) == 0 {
			return
		}
		req := ordering.Request{OrderType: ordering.Takeout, Notes: fmt.Sprintf("note %d", tr.rng.IntN(1000))}
		for i := 0; i <= tr.rng.IntN(3); i++ {
			req.Items = append(req.Items, ordering.LineRequest{MenuItemID: items[tr.rng.IntN(len(items))], Quantity: 1 + tr.rng.IntN(3)})
		}
		_, err = tr.db.CreateOrder(ctx, req)
	case n < 5:
		op = "order status"
		id := tr.pick(`SELECT id FROM orders WHERE restaurant_id = $1 AND status IN ('pending', 'preparing', 'ready') ORDER BY id`)
		if id == "" {
			return
		}
		var from ordering.Status
		if err := tr.db.SQL().QueryRowContext(ctx, `SELECT status FROM orders WHERE restaurant_id = $1 AND id = $2`, tr.rid, id).Scan(&from); err != nil {
			tr.t.Fatal(err)
		}
		to := map[ordering.Status]ordering.Status{ordering.Pending: ordering.Preparing, ordering.Preparing: ordering.Ready, ordering.Ready: ordering.Completed}[from]
		if tr.rng.IntN(5) == 0 {
			to = ordering.Cancelled
		}
		_, _, err = tr.db.SetOrderStatus(ctx, id, to)
	case n < 6:
		op = "payment"
		order := tr.pick(`SELECT id FROM orders WHERE restaurant_id = $1 AND status = 'pending' ORDER BY id`)
		method := tr.pick(`SELECT id FROM payment_methods WHERE restaurant_id = $1 AND active ORDER BY id`)
		if order == "" || method == "" {
			return
		}
		_, _, err = tr.db.RecordPayment(ctx, payments.Request{OrderID: order, PaymentMethodID: method, AmountCents: int64(100 + tr.rng.IntN(900))}, tr.gw)
	case n < 7:
		op = "refund"
		id := tr.pick(`SELECT id FROM payments WHERE restaurant_id = $1 ORDER BY id`)
		if id == "" {
			return
		}
		_, _, err = tr.db.RefundPayment(ctx, id, int64(1+tr.rng.IntN(200)), tr.gw)
	case n < 8:
		switch tr.rng.IntN(3) {
		case 0:
			op = "menu edit"
			id := tr.pick(`SELECT id FROM menu_items WHERE restaurant_id = $1 ORDER BY id`)
			if id == "" {
				return
			}
			_, err = store.Update(ctx, tr.db, store.MenuItems, id, func(v *menu.Item) error {
				v.PriceCents += int64(tr.rng.IntN(200)) - 50
				if v.PriceCents < 1 {
					v.PriceCents = 1
				}
				v.Available = tr.rng.IntN(4) > 0
				v.Description = fmt.Sprintf("edited %d", tr.rng.IntN(1000))
				return nil
			})
		case 1:
			op = "menu add"
			cat := tr.pick(`SELECT id FROM menu_categories WHERE restaurant_id = $1 ORDER BY id`)
			if cat == "" {
				return
			}
			_, err = store.Create(ctx, tr.db, store.MenuItems, menu.Item{ItemFields: menu.ItemFields{CategoryID: cat,
				Name: fmt.Sprintf("Special %d", tr.rng.IntN(1e6)), PriceCents: int64(500 + tr.rng.IntN(2000)), Available: true}})
		default:
			op = "menu delete"
			id := tr.pick(`SELECT id FROM menu_items m WHERE restaurant_id = $1 AND NOT EXISTS (SELECT 1 FROM order_items i
				WHERE i.restaurant_id = m.restaurant_id AND i.menu_item_id = m.id) ORDER BY id`)
			if id == "" {
				return
			}
			err = store.Delete(ctx, tr.db, store.MenuItems, id)
		}
	case n < 9:
		op = "reservation"
		starts := time.Now().UTC().Add(time.Duration(24+tr.rng.IntN(24*30)) * time.Hour).Truncate(time.Hour)
		_, err = tr.db.CreateReservation(ctx, reservations.Request{Name: fmt.Sprintf("Guest %d", tr.rng.IntN(1000)),
			Phone: "+81 3 1234 5678", PartySize: 1 + tr.rng.IntN(4), StartsAt: starts, EndsAt: starts.Add(2 * time.Hour)})
	default:
		op = "reservation status"
		id := tr.pick(`SELECT id FROM reservations WHERE restaurant_id = $1 AND status IN ('booked', 'seated') ORDER BY id`)
		if id == "" {
			return
		}
		var from reservations.Status
		if err := tr.db.SQL().QueryRowContext(ctx, `SELECT status FROM reservations WHERE restaurant_id = $1 AND id = $2`, tr.rid, id).Scan(&from); err != nil {
			tr.t.Fatal(err)
		}
		to := reservations.Completed
		if from == reservations.Booked {
			to = []reservations.Status{reservations.Seated, reservations.Cancelled, reservations.NoShow}[tr.rng.IntN(3)]
		}
		_, err = tr.db.SetReservationStatus(ctx, id, to)
	}
	if err != nil {
		var ae *apperr.Error
		if !errors.As(err, &ae) || ae.Code == apperr.Internal {
			tr.t.Fatalf("%s: %v", op, err)
		}
		if tr.ops[op+" (refused)"] == 0 {
			tr.t.Logf("%s refused: %v", op, err)
		}
		op += " (refused)"
	}
	tr.ops[op]++
}

// TestPointInTimeRestoreEqualsSnapshots is the property of the change log:
// under random traffic, with full backups in the middle, a restore to any
// recorded moment T equals the restaurant as it was at T, row for row in
// every captured table, and the transactions of the log are never split.
func TestPointInTimeRestoreEqualsSnapshots(t *testing.T) {
	t.Parallel()
	s, rid := newSmallDemoService(t)
	ctx := context.Background()
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	tr := &traffic{t: t, db: s.DB, rid: rid, rng: rand.New(rand.NewPCG(seed, 15)), gw: &payments.TestGateway{}, ops: map[string]int{}}

	type moment struct {
		at    time.Time
		state map[string]string
	}
	var moments []moment
	record := func() {
		at := time.Now().UTC().Truncate(time.Microsecond)
		time.Sleep(2 * time.Millisecond)
		moments = append(moments, moment{at: at, state: capturedState(t, s.DB, rid)})
	}
	const steps = 120
	var beforeBase time.Time
	for i := 0; i < steps; i++ {
		if i == 5 {
			beforeBase = time.Now().UTC()
			time.Sleep(2 * time.Millisecond)
		}
		if i == 10 || i == steps/2 {
			if _, err := s.Export(ctx, rid, "tester", nil); err != nil {
				t.Fatal(err)
			}
			record() // right after a base
		}
		tr.step()
		if i > 10 && tr.rng.IntN(12) == 0 {
			record()
		}
	}
	record()
	t.Logf("operations: %v; %d moments", tr.ops, len(moments))

	// Transactions are never split: every change of one transaction has
	// its moment.
	txAt := map[string]time.Time{}
	if err := s.DB.ChangesSince(ctx, rid, store.LogPosition{}, time.Now().Add(time.Hour), func(c store.Change) error {
		if at, ok := txAt[c.Tx]; ok && !at.Equal(c.TxAt) {
			t.Errorf("transaction %s has changes at %s and %s", c.Tx, at, c.TxAt)
		}
		txAt[c.Tx] = c.TxAt
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	for i, m := range moments {
		res, err := s.RestorePointInTime(ctx, rid, backup.PointInTimeOptions{At: m.at}, nil)
		if err != nil {
			t.Fatalf("moment %d (%s): %v", i, m.at, err)
		}
		got := capturedState(t, s.DB, res.RestaurantID)
		for _, table := range store.CapturedTables() {
			if got[table] != m.state[table] {
				t.Errorf("moment %d (%s, base %s, %d changes): table %s differs:\nrestored:\n%s\nat the moment:\n%s",
					i, m.at, res.BackupID, res.Changes, table, got[table], m.state[table])
			}
		}
		if err := s.DB.DeleteRestaurant(ctx, res.RestaurantID); err != nil {
			t.Fatal(err)
		}
	}

	// Before the first base there is nothing to start from.
	_, err := s.RestorePointInTime(ctx, rid, backup.PointInTimeOptions{At: beforeBase}, nil)
	var ae *apperr.Error
	if !errors.As(err, &ae) || ae.Code != apperr.OutOfRange || ae.Field != "at" {
		t.Errorf("restore to before the first backup: %v, want OutOfRange naming at", err)
	}
	_, err = s.RestorePointInTime(ctx, rid, backup.PointInTimeOptions{At: time.Now().Add(time.Hour)}, nil)
	if !errors.As(err, &ae) || ae.Code != apperr.OutOfRange || ae.Field != "at" {
		t.Errorf("restore to the future: %v, want OutOfRange naming at", err)
	}

	// In place: the restaurant itself back to a middle moment.
	m := moments[len(moments)/2]
	res, err := s.RestorePointInTime(ctx, rid, backup.PointInTimeOptions{At: m.at, Replace: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.RestaurantID != rid {
		t.Fatalf("replace restored into %s, want %s", res.RestaurantID, rid)
	}
	got := capturedState(t, s.DB, rid)
	for _, table := range store.CapturedTables() {
		a, b := got[table], m.state[table]
		if table == "restaurants" {
			continue // the token cut-off moves to the restore
		}
		if a != b {
			t.Errorf("in place: table %s differs", table)
		}
	}
}

// TestCleanupPrunesTheChangeLog: once old backups are deleted, the changes
// the oldest kept backup holds leave the live log, and a restore from it
// still gives the restaurant as it was.
func TestCleanupPrunesTheChangeLog(t *testing.T) {
	t.Parallel()
	s := newService(t)
	ctx := context.Background()
	r := seedTenant(t, s.DB, "Pruned Pasta", 0)
	tctx := tenancy.WithTenant(ctx, r.ID)
	count := func() int {
		var n int
		if err := s.DB.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM tenant_changes WHERE restaurant_id = $1`, r.ID).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if _, err := s.Export(ctx, r.ID, "tester", nil); err != nil {
		t.Fatal(err)
	}
	cat, err := store.Create(tctx, s.DB, store.MenuCategories, menu.Category{CategoryFields: menu.CategoryFields{Name: "Antipasti"}})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // backups are named by the second
	if _, err := s.Export(ctx, r.ID, "tester", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Update(tctx, s.DB, store.MenuCategories, cat.ID, func(c *menu.Category) error { c.Name = "Primi"; return nil }); err != nil {
		t.Fatal(err)
	}
	at := time.Now().UTC()
	want := capturedState(t, s.DB, r.ID)
	before := count()
	deleted, err := s.Cleanup(ctx, 1)
	if err != nil || len(deleted) != 1 {
		t.Fatalf("cleanup: %v %v", deleted, err)
	}
	if after := count(); after != 1 {
		t.Fatalf("%d changes left of %d, want only the one after the kept backup", after, before)
	}
	res, err := s.RestorePointInTime(ctx, r.ID, backup.PointInTimeOptions{At: at}, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := capturedState(t, s.DB, res.RestaurantID)
	for _, table := range store.CapturedTables() {
		if got[table] != want[table] {
			t.Errorf("table %s differs after pruning", table)
		}
	}
}
