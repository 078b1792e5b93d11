package store_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/shimizu-tech/ordersuite/internal/ordering"
	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/storetest"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// wire counts what a client sends to PostgreSQL: one write per round trip
// (pgx flushes each exchange, however many messages it holds, at once).
type wire struct {
	mu     sync.Mutex
	writes int
	sent   bytes.Buffer
}

type wiredConn struct {
	net.Conn
	w *wire
}

func (c wiredConn) Write(p []byte) (int, error) {
	c.w.mu.Lock()
	c.w.writes++
	c.w.sent.Write(p)
	c.w.mu.Unlock()
	return c.Conn.Write(p)
}

// measure returns the round trips fn makes and what it sent.
func (w *wire) measure(fn func()) (int, string) {
	w.mu.Lock()
	w.writes = 0
	w.sent.Reset()
	w.mu.Unlock()
	fn()
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.writes, w.sent.String()
}

// openWired opens a test database on PostgreSQL whose one connection
// reports to w.
func openWired(t *testing.T, w *wire) *store.DB {
	t.Helper()
	if storetest.URL() == "" {
		t.Skip("round trips are counted on PostgreSQL: set TEST_DATABASE_URL")
	}
	url, opts := storetest.NewMigratedDatabase(t)
	opts.PGConfigure = func(c *pgxpool.Config) {
		c.MaxConns = 1
		// Test databases commit asynchronously by default; this session
		// starts as a production one does.
		c.ConnConfig.RuntimeParams["synchronous_commit"] = "on"
		// Plain text, so the test can read what was sent.
		c.ConnConfig.TLSConfig, c.ConnConfig.Fallbacks = nil, nil
		dial := c.ConnConfig.DialFunc
		c.ConnConfig.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := dial(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return wiredConn{conn, w}, nil
		}
	}
	db, err := store.Open(context.Background(), url, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestOrderRoundTrips holds order creation on PostgreSQL to at most four
// round trips between the application and the database, counted on the
// wire, and a plain order (no promotion code, no Idempotency-Key) to two:
// an order by staff or a guest, with a promotion code, and under an
// Idempotency-Key. (Orders by admins also write the audit log, in a
// transaction of their own.)
func TestOrderRoundTrips(t *testing.T) {
	t.Parallel()
	w := &wire{}
	db := openWired(t, w)
	k := newKitchen(t, db, "Round Trip Ramen", "RT")
	promo, err := store.Create(k.ctx, db, store.Promotions, ordering.Promotion{PromotionFields: ordering.PromotionFields{
		Code: "TENOFF", DiscountType: ordering.Percent, DiscountValue: 10, Active: true}})
	if err != nil {
		t.Fatal(err)
	}
	staff := tenancy.WithPrincipal(k.ctx, tenancy.Principal{UserID: store.NewID(), RestaurantID: k.r.ID, Role: tenancy.Staff})
	keyed := 0
	cases := []struct {
		name string
		ctx  func() context.Context
		code string
		most int
	}{
		{"plain", func() context.Context { return staff }, "", 2},
		{"promotion code", func() context.Context { return staff }, promo.Code, 4},
		{"idempotency key", func() context.Context {
			keyed++
			return store.WithIdempotency(staff, &store.Idempotent{Key: fmt.Sprint("key-", keyed), Caller: "u", Fingerprint: "f",
				Reply: func(v any) (store.Reply, error) { return store.Reply{Status: 201, Body: []byte("{}")}, nil }})
		}, "", 4},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			order := func() {
				if _, err := k.db.CreateOrder(c.ctx(), ordering.Request{OrderType: ordering.Takeout, PromotionCode: c.code,
					Items: []ordering.LineRequest{{MenuItemID: k.item.ID, Quantity: 2}}}); err != nil {
					t.Fatal(err)
				}
			}
			order() // the first use of a statement on a connection prepares it
			n, sent := w.measure(order)
			t.Logf("%d round trips", n)
			if n > c.most {
				t.Errorf("an order took %d round trips, want at most %d; sent:\n%q", n, c.most, sent)
			}
		})
	}
}

// TestCommitsWaitForTheDiskWhereTheyMust: an event batch's transaction
// turns synchronous commit off for itself; an order's statement does too,
// so that the restaurant's counter is released without waiting for the
// disk, and is then followed by a flush of the WAL before CreateOrder
// returns, so an answered order is on disk. The session's setting stays on.
func TestCommitsWaitForTheDiskWhereTheyMust(t *testing.T) {
	t.Parallel()
	w := &wire{}
	db := openWired(t, w)
	k := newKitchen(t, db, "Async Events", "AE")
	_, sent := w.measure(func() {
		if err := db.InsertEvents(context.Background(), []store.TenantEvent{{RestaurantID: k.r.ID, Type: "api_request",
			Data: []byte(`{"path":"/x"}`), CreatedAt: time.Now()}}); err != nil {
			t.Fatal(err)
		}
	})
	if !strings.Contains(sent, "SET LOCAL synchronous_commit = off") {
		t.Fatalf("the batch did not turn synchronous commit off; sent:\n%q", sent)
	}
	// The first order on the connection sends the statements' text (later
	// ones name the prepared statements).
	_, sent = w.measure(func() {
		if _, err := k.order(""); err != nil {
			t.Fatal(err)
		}
	})
	async := strings.Index(sent, "set_config('synchronous_commit', 'off', true)")
	flush := strings.Index(sent, "pg_logical_emit_message")
	if async < 0 || flush < async {
		t.Fatalf("an order should commit asynchronously and then flush the WAL; sent:\n%q", sent)
	}
	var setting string
	if err := db.SQL().QueryRow(`SHOW synchronous_commit`).Scan(&setting); err != nil || setting != "on" {
		t.Fatalf("synchronous_commit is %q afterwards (%v), want on", setting, err)
	}
}

// TestOrderNumbersAcrossWidths: whichever way the engine numbers an order
// (in SQL on PostgreSQL), the number is ordering.Number's, at every width
// the counter passes through, and has no gap.
func TestOrderNumbersAcrossWidths(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t)
	k := newKitchen(t, db, "Width Works", "WW7")
	first, err := k.order("")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []int{1, 8, 9, 98, 99, 100, 998, 999, 1000, 1001, 9999, 123456, 99999999} {
		if _, err := db.SQL().Exec(`UPDATE number_counters SET value = $1 WHERE restaurant_id = $2 AND kind = 'O'`, v, k.r.ID); err != nil {
			t.Fatal(err)
		}
		o, err := k.order("")
		if err != nil {
			t.Fatal(err)
		}
		if want := ordering.Number("WW7", "O", first.CreatedAt, v+1); o.Number != want {
			t.Errorf("after %d: number %s, want %s", v, o.Number, want)
		}
		var stored string
		if err := db.SQL().QueryRow(`SELECT number FROM orders WHERE restaurant_id = $1 AND id = $2`, k.r.ID, o.ID).Scan(&stored); err != nil || stored != o.Number {
			t.Errorf("after %d: stored %q (%v), answered %s", v, stored, err, o.Number)
		}
	}
}

// TestIdempotencyKeysKeptADay: a kept answer is found for a day, and the
// prune after that removes it (and only it), so the key can be used again.
func TestIdempotencyKeysKeptADay(t *testing.T) {
	t.Parallel()
	now := time.Date(2030, 5, 1, 12, 0, 0, 0, time.UTC)
	db := storetest.OpenWithClock(t, func() time.Time { return now })
	k := newKitchen(t, db, "Kept Keys", "KK")
	key := func(name string) *store.Idempotent {
		return &store.Idempotent{Key: name, Caller: "u", Fingerprint: "f",
			Reply: func(v any) (store.Reply, error) { return store.Reply{Status: 201, Body: []byte(`{"n":1}`)}, nil }}
	}
	place := func(name string) {
		if _, err := db.CreateOrder(store.WithIdempotency(k.ctx, key(name)), ordering.Request{OrderType: ordering.Takeout,
			Items: []ordering.LineRequest{{MenuItemID: k.item.ID, Quantity: 1}}}); err != nil {
			t.Fatal(err)
		}
	}
	found := func(name string) bool {
		r, ok, err := db.Replay(k.ctx, key(name))
		if err != nil {
			t.Fatal(err)
		}
		if ok && (r.Status != 201 || string(r.Body) != `{"n":1}`) {
			t.Fatalf("kept %d %s", r.Status, r.Body)
		}
		return ok
	}
	place("old")
	now = now.Add(2 * time.Hour)
	place("new")
	now = now.Add(store.IdempotencyKeyTTL - time.Hour) // "old" is 25 h old, "new" 23 h
	if _, err := db.PruneIdempotencyKeys(context.Background(), now.Add(-store.IdempotencyKeyTTL)); err != nil {
		t.Fatal(err)
	}
	if found("old") || !found("new") {
		t.Fatalf("after the prune: old kept %v, new kept %v; want false, true", found("old"), found("new"))
	}
	place("old") // the pruned key makes a new order
}
