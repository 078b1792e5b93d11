package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/menu"
	"github.com/shimizu-tech/ordersuite/internal/ordering"
)

// Group placement of plain orders (PostgreSQL).
//
// Every order of a restaurant increments the same daily counter row, and
// holds its lock from the increment to the commit: concurrent orders of one
// restaurant queue there, each woken in turn, however short the statement.
// So this process sends at most one placement statement per restaurant at
// a time. Orders that arrive while it runs wait, and the next of them to
// go places every waiting order at once, in one statement that takes the
// lock once for them all (placeOrderGroup). A lone order goes at once, in
// the statement of a single order. Other processes on the same database
// still queue on the row lock, which keeps numbers unique and gap-free
// across them.

// orderGroupMax is the most orders one statement places; the rest wait
// for the next.
const orderGroupMax = 64

// orderGroupTimeout bounds a group's statement and flush: they run to
// their end whichever member's request goes away, since the others wait on
// them.
const orderGroupTimeout = 30 * time.Second

// orderGroups is the per-restaurant queue of plain orders waiting for the
// statement in flight to end.
type orderGroups struct {
	mu     sync.Mutex
	queues map[string]*orderQueue // by restaurant id
	// sizes counts the groups placed by size (index); sizes[0] is unused.
	sizes [orderGroupMax + 1]atomic.Int64
}

type orderQueue struct {
	busy    bool          // a placement statement of the restaurant is in flight
	waiting []*plainOrder // in arrival order
}

// plainOrder is one order waiting for, or in, a group.
type plainOrder struct {
	req     ordering.Request
	orderID string
	lineIDs []string
	// lead receives the group this order is to place, when it is the
	// first of the next group; done is closed once the order is answered.
	lead chan []*plainOrder
	done chan struct{}

	o      ordering.Order
	placed bool
	err    error
	items  map[string]menu.Item // priced lines, by menu item, once placed
	number string
	now    time.Time
}

// answer completes p, once.
func (p *plainOrder) answer(placed bool, err error) {
	select {
	case <-p.done:
		return
	default:
	}
	p.placed, p.err = placed, err
	close(p.done)
}

func newPlainOrder(req ordering.Request) *plainOrder {
	p := &plainOrder{req: req, orderID: NewID(), lineIDs: make([]string, len(req.Items)),
		lead: make(chan []*plainOrder, 1), done: make(chan struct{})}
	for i := range p.lineIDs {
		p.lineIDs[i] = NewID()
	}
	return p
}

// OrderGroupSizes returns how many groups of plain orders were placed by
// one statement, by size (index; [0] is always 0). A group of one is a
// lone order. SQLite places no groups.
func (db *DB) OrderGroupSizes() []int64 {
	out := make([]int64, orderGroupMax+1)
	for i := range out {
		out[i] = db.groups.sizes[i].Load()
	}
	return out
}

// errGroupAbandoned answers the members of a group whose leader stopped
// before it placed them (a panic).
var errGroupAbandoned = errors.New("store: the order's group was not placed")

// placeGrouped places a plain order with the other plain orders of the
// restaurant that wait for the same statement: placed is false when the
// statement refused it (a reference not the tenant's, an item
// unavailable), which took no number then.
func (db *DB) placeGrouped(ctx context.Context, rid string, req ordering.Request, now time.Time) (ordering.Order, bool, error) {
	p := newPlainOrder(req)
	p.now = now
	g := db.groups
	g.mu.Lock()
	q := g.queues[rid]
	if q == nil {
		q = &orderQueue{}
		g.queues[rid] = q
	}
	if !q.busy {
		q.busy = true
		g.mu.Unlock()
		db.placeGroup(ctx, rid, q, []*plainOrder{p})
		return p.o, p.placed, p.err
	}
	q.waiting = append(q.waiting, p)
	g.mu.Unlock()

	select {
	case group := <-p.lead:
		db.placeGroup(ctx, rid, q, group)
	case <-p.done:
	case <-ctx.Done():
		g.mu.Lock()
		for i, w := range q.waiting {
			if w == p { // not taken yet: leave the queue
				q.waiting = append(q.waiting[:i:i], q.waiting[i+1:]...)
				g.mu.Unlock()
				return p.o, false, db.dbError(ctx.Err(), "create", "order")
			}
		}
		g.mu.Unlock()
		// Taken into a group: its statement runs whatever this request
		// does, so the answer is the statement's.
		select {
		case group := <-p.lead:
			db.placeGroup(ctx, rid, q, group)
		case <-p.done:
		}
	}
	<-p.done
	return p.o, p.placed, p.err
}

// handOff ends the statement in flight of q: the orders that waited for it
// become the next group, led by its first, or the restaurant is idle.
func (g *orderGroups) handOff(q *orderQueue) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(q.waiting) == 0 {
		q.busy = false
		return
	}
	n := min(len(q.waiting), orderGroupMax)
	next := q.waiting[:n:n]
	q.waiting = append([]*plainOrder(nil), q.waiting[n:]...)
	next[0].lead <- next
}

// placeGroup places group (led by the calling request), hands the
// restaurant on to the orders that waited meanwhile as soon as the
// statement has run, then makes the placed orders durable with one flush
// of the WAL and answers every member.
func (db *DB) placeGroup(ctx context.Context, rid string, q *orderQueue, group []*plainOrder) {
	defer func() { // a panic must not leave members waiting
		for _, p := range group {
			p.answer(false, errGroupAbandoned)
		}
	}()
	// A lone order's statement and flush are its own request's, cancelled
	// with it; a group's run to their end, within a bound.
	if len(group) > 1 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), orderGroupTimeout)
		defer cancel()
	}
	var err error
	func() {
		defer db.groups.handOff(q)
		if len(group) == 1 {
			err = db.placeOneOrder(ctx, rid, group[0])
		} else {
			err = db.placeOrderGroup(ctx, rid, group)
		}
	}()
	db.groups.sizes[len(group)].Add(1)
	if err != nil {
		for _, p := range group {
			p.answer(false, err)
		}
		return
	}
	placed := 0
	for _, p := range group {
		if p.number == "" {
			p.answer(false, nil) // refused: the caller names the reference
		} else {
			placed++
		}
	}
	if placed == 0 {
		return
	}
	err = db.flushWAL(ctx)
	for _, p := range group {
		if p.number == "" {
			continue
		}
		if err != nil {
			p.answer(false, err)
			continue
		}
		o, perr := ordering.Price(p.req, p.items, nil, p.now)
		if perr == nil {
			Orders.touch(&o, p.now, true)
			o.ID, o.Number = p.orderID, p.number
			for i := range o.Items {
				o.Items[i].ID, o.Items[i].OrderID = p.lineIDs[i], p.orderID
			}
		}
		p.o = o
		p.answer(perr == nil, perr)
	}
}

// placeOrderGroup places the plain orders of group, of one restaurant, in
// one statement, numbered consecutively in the group's order: it reads and
// prices every line from the menu items, keeps the orders whose items are
// all the tenant's and available and whose customer and table are the
// tenant's, increments the day's counter once by their count, and writes
// them and their lines. Each placed order gets its number and priced lines;
// a refused one keeps no number and took none. The statement commits
// without waiting for the disk (the caller flushes).
func (db *DB) placeOrderGroup(ctx context.Context, rid string, group []*plainOrder) error {
	now := db.Now()
	var lineOrd, lineQty []int64
	var lineIDs, lineMenu, lineNotes []string
	k := len(group)
	ids, customers, tables, types, notes := make([]string, k), make([]string, k), make([]string, k), make([]string, k), make([]string, k)
	counts := make([]int64, k)
	type line struct {
		p *plainOrder
		j int
	}
	var byN []line // by the line's place in the statement
	for i, p := range group {
		p.now = now
		ids[i], customers[i], tables[i], types[i], notes[i] = p.orderID, p.req.CustomerID, p.req.TableID, string(p.req.OrderType), p.req.Notes
		counts[i] = int64(len(p.req.Items))
		for j, l := range p.req.Items {
			byN = append(byN, line{p, j})
			lineOrd = append(lineOrd, int64(i+1))
			lineIDs = append(lineIDs, p.lineIDs[j])
			lineMenu = append(lineMenu, l.MenuItemID)
			lineQty = append(lineQty, int64(l.Quantity))
			lineNotes = append(lineNotes, l.Notes)
		}
	}
	rows, err := db.sql.QueryContext(ctx, `WITH early AS (
			SELECT set_config('synchronous_commit', 'off', true)
		), lines AS (
			SELECT l.n, l.ord, l.id, l.menu_item_id, m.name, m.price_cents, l.quantity,
				m.price_cents * l.quantity AS line_total_cents, l.notes, m.available
			FROM unnest($2::int[], $3::uuid[], $4::uuid[], $5::int[], $6::text[]) WITH ORDINALITY
				AS l (ord, id, menu_item_id, quantity, notes, n)
			LEFT JOIN menu_items m ON m.restaurant_id = $1 AND m.id = l.menu_item_id
		), asked AS (
			SELECT a.ord, a.id, nullif(a.customer_id, '')::uuid AS customer_id, nullif(a.table_id, '')::uuid AS table_id,
				a.order_type, a.notes, a.lines
			FROM unnest($7::uuid[], $8::text[], $9::text[], $10::text[], $11::text[], $12::int[]) WITH ORDINALITY
				AS a (id, customer_id, table_id, order_type, notes, lines, ord)
		), priced AS (
			SELECT a.ord, a.id, a.customer_id, a.table_id, a.order_type, a.notes, s.subtotal,
				row_number() OVER (ORDER BY a.ord) AS k, count(*) OVER () AS placeable
			FROM asked a
			JOIN (SELECT ord, sum(line_total_cents)::bigint AS subtotal, count(*) FILTER (WHERE available) AS available
				FROM lines GROUP BY ord) s ON s.ord = a.ord AND s.available = a.lines
			WHERE (a.customer_id IS NULL OR EXISTS (SELECT 1 FROM customers WHERE restaurant_id = $1 AND id = a.customer_id))
				AND (a.table_id IS NULL OR EXISTS (SELECT 1 FROM tables WHERE restaurant_id = $1 AND id = a.table_id))
		), counter AS (
			INSERT INTO number_counters (restaurant_id, id, kind, day, value)
			SELECT $1, $13::uuid, 'O', $14::text, count(*) FROM priced HAVING count(*) > 0
			ON CONFLICT (restaurant_id, kind, day) DO UPDATE SET value = number_counters.value + excluded.value
			RETURNING value
		), numbered AS (
			SELECT p.*, (SELECT prefix FROM restaurants WHERE id = $1) || $15::text ||
				CASE WHEN c.value - p.placeable + p.k < 1000 THEN lpad((c.value - p.placeable + p.k)::text, 3, '0')
				ELSE (c.value - p.placeable + p.k)::text END AS number
			FROM priced p, counter c
		), placed AS (
			INSERT INTO orders (restaurant_id, id, number, customer_id, table_id, promotion_id, order_type, status, notes,
				subtotal_cents, discount_cents, total_amount_cents, created_at, updated_at)
			SELECT $1, id, number, customer_id, table_id, NULL, order_type, $16::text, notes,
				subtotal, 0, subtotal, $17::timestamptz, $17::timestamptz
			FROM numbered
			RETURNING id, number
		), written AS (
			INSERT INTO order_items (restaurant_id, id, order_id, menu_item_id, name, unit_price_cents, quantity, line_total_cents, notes)
			SELECT $1, l.id, p.id, l.menu_item_id, l.name, l.price_cents, l.quantity, l.line_total_cents, l.notes
			FROM placed p JOIN numbered nb ON nb.id = p.id JOIN lines l ON l.ord = nb.ord
		)
		SELECT l.n, p.number, l.name, l.price_cents
		FROM placed p JOIN numbered nb ON nb.id = p.id JOIN lines l ON l.ord = nb.ord, early
		ORDER BY l.n`,
		rid, lineOrd, lineIDs, lineMenu, lineQty, lineNotes,
		ids, customers, tables, types, notes, counts,
		NewID(), now.Format(time.DateOnly), "-O-"+now.UTC().Format("060102"), ordering.Pending, now)
	if err != nil {
		return db.dbError(err, "create", "order")
	}
	defer rows.Close()
	for rows.Next() {
		var n int
		var number, name string
		var price int64
		if err := rows.Scan(&n, &number, &name, &price); err != nil {
			return db.dbError(err, "create", "order")
		}
		if n < 1 || n > len(byN) {
			return fmt.Errorf("store: create order: the statement answered for line %d of %d", n, len(byN))
		}
		p := byN[n-1].p
		if p.items == nil {
			p.items = map[string]menu.Item{}
		}
		menuID := p.req.Items[byN[n-1].j].MenuItemID
		p.number = number
		p.items[menuID] = menu.Item{ID: menuID, ItemFields: menu.ItemFields{Name: name, PriceCents: price, Available: true}}
	}
	if err := rows.Err(); err != nil {
		return db.dbError(err, "create", "order")
	}
	return nil
}
