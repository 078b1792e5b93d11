package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/apperr"
	"github.com/shimizu-tech/ordersuite/internal/menu"
	"github.com/shimizu-tech/ordersuite/internal/notify"
	"github.com/shimizu-tech/ordersuite/internal/ordering"
)

// Orders are the tenant's orders (without their lines; Order adds them).
// They are written only by CreateOrder and the status changes.
var Orders = &Entity[ordering.Order]{
	table: "orders", what: "order", resource: "order",
	columns: []string{"id", "number", "customer_id", "table_id", "promotion_id", "order_type", "status", "notes",
		"subtotal_cents", "discount_cents", "total_amount_cents", "created_at", "updated_at"},
	scan: func(sc scanner) (ordering.Order, error) {
		var v ordering.Order
		var cust, table, promo sql.NullString
		err := sc.Scan(&v.ID, &v.Number, &cust, &table, &promo, &v.OrderType, &v.Status, &v.Notes,
			&v.SubtotalCents, &v.DiscountCents, &v.TotalAmountCents, &v.CreatedAt, &v.UpdatedAt)
		v.CustomerID, v.TableID, v.PromotionID = cust.String, table.String, promo.String
		utc(&v.CreatedAt, &v.UpdatedAt)
		return v, err
	},
	values: func(v *ordering.Order) []any {
		return []any{v.ID, v.Number, nullable(v.CustomerID), nullable(v.TableID), nullable(v.PromotionID), v.OrderType,
			v.Status, v.Notes, v.SubtotalCents, v.DiscountCents, v.TotalAmountCents, v.CreatedAt, v.UpdatedAt}
	},
	id: func(v *ordering.Order) string { return v.ID },
	touch: func(v *ordering.Order, now time.Time, creating bool) {
		stamp(&v.ID, &v.CreatedAt, &v.UpdatedAt, now, creating)
	},
	order:  "created_at DESC, id DESC",
	filter: reflect.TypeFor[OrderFilter](),
	owner:  "customer_id",
}

// CreateOrder prices req from the tenant's menu and promotion, numbers it
// from the restaurant's daily counter and stores it, all in one transaction:
// concurrent orders never share a number, numbers have no gaps, and a
// promotion is never used more than its max_uses. Under an Idempotency-Key
// (WithIdempotency) the answer is kept in the same transaction.
//
// The daily counter row is what concurrent orders of one restaurant queue
// on, from its increment until the commit. So the order is read and priced
// first, outside any transaction, and the counter, the order, its lines,
// the promotion's use and the kept answer are then written by one
// statement where the engine allows it (PostgreSQL). That statement
// commits without waiting for the disk, so the counter's lock is released
// as soon as it has run, not after an fsync; the order is then made
// durable before CreateOrder returns (flushWAL), so no order is answered
// before it would survive a crash. A plain order (no promotion code, no
// Idempotency-Key) also reads its menu items in that statement: two round
// trips (createPlainOrder); three otherwise, four with a promotion code.
// Plain orders of one restaurant that arrive while its statement is in
// flight wait and are then placed together, in one statement that takes
// the counter once for the group, and one flush (group placement,
// ordergroup.go); a lone order still takes its two round trips at once.
// Flushes are shared too: callers that need one while another is in
// flight wait for the next, which serves them all (walflush.go).
// Writes that are audited (by admins) take a transaction, since the audit
// log is a platform table that no statement joins with tenant rows.
//
// Errors: NotFound (Field: items[i].menu_item_id, customer_id, table_id)
// for a reference outside the tenant; Invalid (Field: promotion_code) for
// an unknown code; Conflict when the promotion is used up, or (Field:
// Idempotency-Key) when a duplicate holds the key.
func (db *DB) CreateOrder(ctx context.Context, req ordering.Request) (ordering.Order, error) {
	rid, err := tenant(ctx)
	if err != nil {
		return ordering.Order{}, err
	}
	if db.dialect.modifyingCTEs() && !audited(ctx) {
		return db.createOrderAtOnce(ctx, rid, req)
	}
	var o ordering.Order
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		keyID, err := db.claimKey(ctx, tx, rid)
		if err != nil {
			return err
		}
		now := db.Now()
		items, err := db.orderInputs(ctx, tx, rid, req)
		if err != nil {
			return err
		}
		promo, err := db.promotionByCode(ctx, tx, rid, req.PromotionCode, db.lock())
		if err != nil {
			return err
		}
		o, err = ordering.Price(req, items, promo, now)
		if err != nil {
			return err
		}
		if promo != nil {
			// The condition repeats the limit so the count can never pass it,
			// whatever the isolation level.
			res, err := tx.ExecContext(ctx, `UPDATE promotions SET uses = uses + 1
				WHERE restaurant_id = $1 AND id = $2 AND (max_uses IS NULL OR uses < max_uses)`, rid, promo.ID)
			if err != nil {
				return fmt.Errorf("store: use promotion: %w", err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return errPromotionUsedUp
			}
		}
		if o.Number, err = db.nextNumber(ctx, tx, rid, "O", now); err != nil {
			return err
		}
		Orders.touch(&o, now, true)
		if err := Orders.insert(ctx, db, tx, rid, &o); err != nil {
			return err
		}
		// One statement for all lines: a round trip per line is what an
		// order would otherwise spend most of its time on with PostgreSQL.
		var ph []string
		var args []any
		for i := range o.Items {
			it := &o.Items[i]
			it.ID, it.OrderID = NewID(), o.ID
			n := len(args)
			ph = append(ph, fmt.Sprintf("($%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d)", n+1, n+2, n+3, n+4, n+5, n+6, n+7, n+8, n+9))
			args = append(args, rid, it.ID, o.ID, it.MenuItemID, it.Name, it.UnitPriceCents, it.Quantity, it.LineTotalCents, it.Notes)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO order_items (restaurant_id, id, order_id, menu_item_id, name,
			unit_price_cents, quantity, line_total_cents, notes) VALUES `+strings.Join(ph, ", "), args...); err != nil {
			return fmt.Errorf("store: insert order items: %w", err)
		}
		if err := db.audit(ctx, tx, "create", "order", o.ID, nil, o); err != nil {
			return err
		}
		return db.keepReply(ctx, tx, rid, keyID, o)
	})
	return o, err
}

var errPromotionUsedUp = apperr.Errorf(apperr.Conflict, "this promotion has been used up")

// createOrderAtOnce is CreateOrder in one read and one write statement
// (PostgreSQL), the write committed asynchronously and then flushed. The
// number is formatted in SQL as ordering.Number formats it; a kept answer
// is rendered with a marker where the number goes, which the statement
// replaces.
func (db *DB) createOrderAtOnce(ctx context.Context, rid string, req ordering.Request) (ordering.Order, error) {
	var o ordering.Order
	now := db.Now()
	if o, placed, err := db.createPlainOrder(ctx, rid, req, now); placed || err != nil {
		return o, err
	}
	items, err := db.orderInputs(ctx, db.sql, rid, req)
	if err != nil {
		return o, err
	}
	promo, err := db.promotionByCode(ctx, db.sql, rid, req.PromotionCode, "")
	if err != nil {
		return o, err
	}
	if o, err = ordering.Price(req, items, promo, now); err != nil {
		return o, err
	}
	Orders.touch(&o, now, true)
	var promoID any
	if promo != nil {
		promoID = promo.ID
	}
	n := len(o.Items)
	lineIDs, menuIDs, names, notes := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	prices, totals, qty := make([]int64, n), make([]int64, n), make([]int64, n)
	for i := range o.Items {
		it := &o.Items[i]
		it.ID, it.OrderID = NewID(), o.ID
		lineIDs[i], menuIDs[i], names[i], notes[i] = it.ID, it.MenuItemID, it.Name, it.Notes
		prices[i], totals[i], qty[i] = it.UnitPriceCents, it.LineTotalCents, int64(it.Quantity)
	}
	var keyID, caller, key, fingerprint, body, marker any
	var status int
	if k := idempotency(ctx); k != nil {
		m := "ORDER-NUMBER-" + NewID()
		o.Number = m
		r, err := k.Reply(o)
		if err != nil {
			return o, fmt.Errorf("store: render kept reply: %w", err)
		}
		keyID, caller, key, fingerprint, status, body, marker = NewID(), k.Caller, k.Key, k.Fingerprint, r.Status, string(r.Body), m
	}
	var number string
	err = db.sql.QueryRowContext(ctx, `WITH early AS (
			SELECT set_config('synchronous_commit', 'off', true)
		), promo AS (
			UPDATE promotions SET uses = uses + 1
			WHERE restaurant_id = $1 AND id = $2::uuid AND (max_uses IS NULL OR uses < max_uses)
			RETURNING id
		), counter AS (
			INSERT INTO number_counters (restaurant_id, id, kind, day, value)
			SELECT $1, $3::uuid, 'O', $4::text, 1 WHERE $2::uuid IS NULL OR EXISTS (SELECT 1 FROM promo)
			ON CONFLICT (restaurant_id, kind, day) DO UPDATE SET value = number_counters.value + 1
			RETURNING value
		), numbered AS (
			SELECT (SELECT prefix FROM restaurants WHERE id = $1) || $5::text ||
				CASE WHEN value < 1000 THEN lpad(value::text, 3, '0') ELSE value::text END AS number
			FROM counter
		), placed AS (
			INSERT INTO orders (restaurant_id, id, number, customer_id, table_id, promotion_id, order_type, status, notes,
				subtotal_cents, discount_cents, total_amount_cents, created_at, updated_at)
			SELECT $1, $6::uuid, number, $7::uuid, $8::uuid, $2::uuid, $9::text, $10::text, $11::text,
				$12::bigint, $13::bigint, $14::bigint, $15::timestamptz, $15::timestamptz
			FROM numbered
			RETURNING number
		), lines AS (
			INSERT INTO order_items (restaurant_id, id, order_id, menu_item_id, name, unit_price_cents, quantity, line_total_cents, notes)
			SELECT $1, l.id, $6::uuid, l.menu_item_id, l.name, l.unit_price_cents, l.quantity, l.line_total_cents, l.notes
			FROM placed, unnest($16::uuid[], $17::uuid[], $18::text[], $19::bigint[], $20::int[], $21::bigint[], $22::text[])
				AS l (id, menu_item_id, name, unit_price_cents, quantity, line_total_cents, notes)
		), kept AS (
			INSERT INTO idempotency_keys (restaurant_id, id, caller, key, fingerprint, status, body, created_at)
			SELECT $1, $23::uuid, $24::text, $25::text, $26::text, $27::int, replace($28::text, $29::text, number), $15::timestamptz
			FROM placed WHERE $23::uuid IS NOT NULL
		)
		SELECT number FROM placed, early`,
		rid, promoID, NewID(), now.Format(time.DateOnly), "-O-"+now.UTC().Format("060102"),
		o.ID, nullable(o.CustomerID), nullable(o.TableID), o.OrderType, o.Status, o.Notes,
		o.SubtotalCents, o.DiscountCents, o.TotalAmountCents, o.CreatedAt,
		lineIDs, menuIDs, names, prices, qty, totals, notes,
		keyID, caller, key, fingerprint, status, body, marker).Scan(&number)
	if errors.Is(err, sql.ErrNoRows) {
		return o, errPromotionUsedUp
	}
	if err != nil {
		return o, db.dbError(err, "create", "order")
	}
	if err := db.flushWAL(ctx); err != nil {
		return o, err
	}
	o.Number = number
	return o, nil
}

// createPlainOrder places an order without a promotion code or an
// Idempotency-Key, the usual one, in one statement that also reads the
// ordered menu items, and a flush of the WAL: two round trips. The
// statement prices the lines from the menu items it reads and writes
// nothing (takes no number) unless every item is the tenant's and
// available and the customer and table are the tenant's; placed is false
// then, and the caller reads and prices the order as for any other, which
// names the reference that failed. The lines it returns are priced again
// by ordering.Price, so the answer is computed as every other order's is.
//
// Orders of one restaurant that arrive while one of its statements is in
// flight are placed together by the next (placeGrouped, ordergroup.go).
func (db *DB) createPlainOrder(ctx context.Context, rid string, req ordering.Request, now time.Time) (o ordering.Order, placed bool, err error) {
	if req.PromotionCode != "" || idempotency(ctx) != nil ||
		(req.CustomerID != "" && !ValidID(req.CustomerID)) || (req.TableID != "" && !ValidID(req.TableID)) {
		return o, false, nil
	}
	for _, l := range req.Items {
		if !ValidID(l.MenuItemID) {
			return o, false, nil
		}
	}
	return db.placeGrouped(ctx, rid, req, now)
}

// placeOneOrder is placeOrderGroup for a lone order, in the statement of
// one order (the SQL scripts/bench-orders.sh measures as the floor).
func (db *DB) placeOneOrder(ctx context.Context, rid string, p *plainOrder) error {
	req, now := p.req, p.now
	n := len(req.Items)
	menuIDs, notes, qty := make([]string, n), make([]string, n), make([]int64, n)
	for i, l := range req.Items {
		menuIDs[i], notes[i], qty[i] = l.MenuItemID, l.Notes, int64(l.Quantity)
	}
	rows, err := db.sql.QueryContext(ctx, `WITH early AS (
			SELECT set_config('synchronous_commit', 'off', true)
		), lines AS (
			SELECT l.n, l.id, l.menu_item_id, m.name, m.price_cents, l.quantity, m.price_cents * l.quantity AS line_total_cents,
				l.notes, m.available
			FROM unnest($2::uuid[], $3::uuid[], $4::int[], $5::text[]) WITH ORDINALITY AS l (id, menu_item_id, quantity, notes, n)
			LEFT JOIN menu_items m ON m.restaurant_id = $1 AND m.id = l.menu_item_id
		), priced AS (
			SELECT sum(line_total_cents)::bigint AS subtotal FROM lines
			HAVING count(*) FILTER (WHERE available) = $6::int
		), counter AS (
			INSERT INTO number_counters (restaurant_id, id, kind, day, value)
			SELECT $1, $7::uuid, 'O', $8::text, 1 FROM priced
			WHERE ($9::uuid IS NULL OR EXISTS (SELECT 1 FROM customers WHERE restaurant_id = $1 AND id = $9::uuid))
				AND ($10::uuid IS NULL OR EXISTS (SELECT 1 FROM tables WHERE restaurant_id = $1 AND id = $10::uuid))
			ON CONFLICT (restaurant_id, kind, day) DO UPDATE SET value = number_counters.value + 1
			RETURNING value
		), numbered AS (
			SELECT (SELECT prefix FROM restaurants WHERE id = $1) || $11::text ||
				CASE WHEN value < 1000 THEN lpad(value::text, 3, '0') ELSE value::text END AS number
			FROM counter
		), placed AS (
			INSERT INTO orders (restaurant_id, id, number, customer_id, table_id, promotion_id, order_type, status, notes,
				subtotal_cents, discount_cents, total_amount_cents, created_at, updated_at)
			SELECT $1, $12::uuid, number, $9::uuid, $10::uuid, NULL, $13::text, $14::text, $15::text,
				subtotal, 0, subtotal, $16::timestamptz, $16::timestamptz
			FROM numbered, priced
			RETURNING number
		), written AS (
			INSERT INTO order_items (restaurant_id, id, order_id, menu_item_id, name, unit_price_cents, quantity, line_total_cents, notes)
			SELECT $1, l.id, $12::uuid, l.menu_item_id, l.name, l.price_cents, l.quantity, l.line_total_cents, l.notes
			FROM placed, lines l
		)
		SELECT p.number, l.name, l.price_cents FROM placed p, lines l, early ORDER BY l.n`,
		rid, p.lineIDs, menuIDs, qty, notes, n, NewID(), now.Format(time.DateOnly),
		nullable(req.CustomerID), nullable(req.TableID), "-O-"+now.UTC().Format("060102"),
		p.orderID, req.OrderType, ordering.Pending, req.Notes, now)
	if err != nil {
		return db.dbError(err, "create", "order")
	}
	defer rows.Close()
	var number string
	items := make(map[string]menu.Item, n)
	for i := 0; rows.Next(); i++ {
		var name string
		var price int64
		if err := rows.Scan(&number, &name, &price); err != nil {
			return db.dbError(err, "create", "order")
		}
		if i < n {
			items[menuIDs[i]] = menu.Item{ID: menuIDs[i], ItemFields: menu.ItemFields{Name: name, PriceCents: price, Available: true}}
		}
	}
	if err := rows.Err(); err != nil {
		return db.dbError(err, "create", "order")
	}
	if number != "" { // else nothing written: a reference is missing or an item unavailable
		p.number, p.items = number, items
	}
	return nil
}

// promotionByCode reads the tenant's promotion of code (none for no code);
// lock is the dialect's lockClause inside a transaction that uses it.
func (db *DB) promotionByCode(ctx context.Context, q queryer, rid, code, lock string) (*ordering.Promotion, error) {
	if code == "" {
		return nil, nil
	}
	p, err := Promotions.scan(q.QueryRowContext(ctx, `SELECT `+Promotions.cols()+` FROM promotions
		WHERE restaurant_id = $1 AND code = $2`+lock, rid, ordering.NormalizeCode(code)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, apperr.InvalidField("promotion_code", "unknown promotion code")
	}
	if err != nil {
		return nil, fmt.Errorf("store: read promotion: %w", err)
	}
	return &p, nil
}

// orderInputs reads the menu items an order names, and checks that its
// customer and table are the tenant's, in one query.
func (db *DB) orderInputs(ctx context.Context, q queryer, rid string, req ordering.Request) (map[string]menu.Item, error) {
	refs := []ref{{field: "customer_id", table: "customers", what: "customer", id: req.CustomerID},
		{field: "table_id", table: "tables", what: "table", id: req.TableID}}
	args := []any{rid}
	var checks []string
	var asked []ref
	for _, r := range refs {
		if r.id == "" {
			continue
		}
		if !ValidID(r.id) {
			return nil, &apperr.Error{Code: apperr.NotFound, Message: r.what + " not found", Field: r.field}
		}
		args = append(args, r.id)
		checks = append(checks, fmt.Sprintf(`EXISTS (SELECT 1 FROM %s WHERE restaurant_id = $1 AND id = $%d), `, r.table, len(args)))
		asked = append(asked, r)
	}
	var ph []string
	for i, l := range req.Items {
		if !ValidID(l.MenuItemID) {
			return nil, &apperr.Error{Code: apperr.NotFound, Message: "menu item not found", Field: fmt.Sprintf("items[%d].menu_item_id", i)}
		}
		args = append(args, l.MenuItemID)
		ph = append(ph, fmt.Sprintf("$%d", len(args)))
	}
	rows, err := q.QueryContext(ctx, `SELECT `+strings.Join(checks, "")+MenuItems.cols()+` FROM menu_items
		WHERE restaurant_id = $1 AND id IN (`+strings.Join(ph, ", ")+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: read menu items: %w", err)
	}
	defer rows.Close()
	out := map[string]menu.Item{}
	found := make([]bool, len(asked))
	pre := make([]any, len(asked))
	for i := range found {
		pre[i] = &found[i]
	}
	for rows.Next() {
		mi, err := MenuItems.scan(prefixScanner{rows, pre})
		if err != nil {
			return nil, fmt.Errorf("store: read menu items: %w", err)
		}
		out[mi.ID] = mi
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: read menu items: %w", err)
	}
	rows.Close()
	for i, r := range asked {
		if len(out) == 0 { // no row to tell: ask, so a missing reference is named before the items
			if err := checkRef(ctx, q, rid, r); err != nil {
				return nil, err
			}
		} else if !found[i] {
			return nil, &apperr.Error{Code: apperr.NotFound, Message: r.what + " not found", Field: r.field}
		}
	}
	return out, nil
}

// prefixScanner scans a row's leading columns into pre and the rest into
// the caller's destinations.
type prefixScanner struct {
	sc  scanner
	pre []any
}

func (p prefixScanner) Scan(dst ...any) error {
	return p.sc.Scan(append(p.pre[:len(p.pre):len(p.pre)], dst...)...)
}

// nextNumber takes the next number of kind (O orders, R reservations) from
// the restaurant's counter for now's day. The upsert increments the one
// counter row in the caller's transaction: PostgreSQL queues concurrent
// callers on the row lock, SQLite on its immediate write lock.
func (db *DB) nextNumber(ctx context.Context, tx *sql.Tx, rid, kind string, now time.Time) (string, error) {
	var prefix string
	if err := tx.QueryRowContext(ctx, `SELECT prefix FROM restaurants WHERE id = $1`, rid).Scan(&prefix); err != nil {
		return "", notFound(err, "restaurant")
	}
	var seq int
	err := tx.QueryRowContext(ctx, `INSERT INTO number_counters (restaurant_id, id, kind, day, value) VALUES ($1, $2, $3, $4, 1)
		ON CONFLICT (restaurant_id, kind, day) DO UPDATE SET value = number_counters.value + 1
		RETURNING value`, rid, NewID(), kind, now.Format(time.DateOnly)).Scan(&seq)
	if err != nil {
		return "", fmt.Errorf("store: next %s number: %w", kind, err)
	}
	return ordering.Number(prefix, kind, now, seq), nil
}

// Order returns one order with its lines; a guest gets only their own.
// Errors: NotFound when the tenant has no such order the caller may see.
func (db *DB) Order(ctx context.Context, id string) (ordering.Order, error) {
	rid, err := tenant(ctx)
	if err != nil {
		return ordering.Order{}, err
	}
	o, err := Orders.visible(ctx, db.sql, rid, id)
	if err != nil {
		return o, err
	}
	o.Items, err = db.orderItems(ctx, db.sql, rid, o.ID)
	return o, err
}

func (db *DB) orderItems(ctx context.Context, q queryer, rid, orderID string) ([]ordering.Item, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, order_id, menu_item_id, name, unit_price_cents, quantity, line_total_cents, notes
		FROM order_items WHERE restaurant_id = $1 AND order_id = $2 ORDER BY id`, rid, orderID)
	if err != nil {
		return nil, fmt.Errorf("store: read order items: %w", err)
	}
	defer rows.Close()
	out := []ordering.Item{}
	for rows.Next() {
		var it ordering.Item
		if err := rows.Scan(&it.ID, &it.OrderID, &it.MenuItemID, &it.Name, &it.UnitPriceCents, &it.Quantity,
			&it.LineTotalCents, &it.Notes); err != nil {
			return nil, fmt.Errorf("store: read order items: %w", err)
		}
		out = append(out, it)
	}
	return out, rows.Err()
}

// SetOrderStatus moves an order along its lifecycle, records the guest's
// notification, and on completion credits the customer's loyalty points,
// all in one transaction. It returns the order and the new notification.
// Errors: NotFound when the tenant has no such order; Conflict when the
// order cannot move to the status.
func (db *DB) SetOrderStatus(ctx context.Context, id string, to ordering.Status) (ordering.Order, notify.Notification, error) {
	var o ordering.Order
	var n notify.Notification
	rid, err := tenant(ctx)
	if err != nil {
		return o, n, err
	}
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		before, err := Orders.get(ctx, tx, rid, id, db.lock())
		if err != nil {
			return err
		}
		if err := ordering.CheckTransition(before.Status, to); err != nil {
			return err
		}
		if o, n, err = db.moveOrder(ctx, tx, rid, before, to); err != nil {
			return err
		}
		return db.audit(ctx, tx, "set_status", "order", id, before, o)
	})
	return o, n, err
}

// moveOrder writes an already checked status change and its consequences.
func (db *DB) moveOrder(ctx context.Context, tx *sql.Tx, rid string, o ordering.Order, to ordering.Status) (ordering.Order, notify.Notification, error) {
	now := db.Now()
	o.Status, o.UpdatedAt = to, now
	res, err := tx.ExecContext(ctx, `UPDATE orders SET status = $1, updated_at = $2 WHERE restaurant_id = $3 AND id = $4`,
		to, now, rid, o.ID)
	if err != nil {
		return o, notify.Notification{}, fmt.Errorf("store: set order status: %w", err)
	}
	if err := changedOne(res, "order"); err != nil {
		return o, notify.Notification{}, err
	}
	n := notify.Notification{ID: NewID(), OrderID: o.ID, CustomerID: o.CustomerID, Kind: notify.OrderStatusKind,
		Message: notify.OrderStatusMessage(o.Number, string(to)), Status: notify.Pending, CreatedAt: now, UpdatedAt: now}
	if err := Notifications.insert(ctx, db, tx, rid, &n); err != nil {
		return o, n, err
	}
	if to == ordering.Completed && o.CustomerID != "" {
		if err := db.earnPoints(ctx, tx, rid, o.CustomerID, o.TotalAmountCents, now); err != nil {
			return o, n, err
		}
	}
	return o, n, nil
}
