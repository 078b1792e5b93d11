package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/analytics"
	"github.com/shimizu-tech/ordersuite/internal/events"
	"github.com/shimizu-tech/ordersuite/internal/flags"
	"github.com/shimizu-tech/ordersuite/internal/httpapi"
	"github.com/shimizu-tech/ordersuite/internal/notify"
	"github.com/shimizu-tech/ordersuite/internal/payments"
	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// useServer replaces the env's server with one configured by change.
func (e *env) useServer(change func(s *httpapi.Server)) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := &httpapi.Server{DB: e.db, Auth: e.auth, Events: events.StoreSink{DB: e.db, Log: log}, Metrics: e.metrics, Log: log}
	srv.Flags = flags.New(e.db, flags.Options{Log: log})
	srv.Analytics = &analytics.Service{DB: e.db}
	change(srv)
	e.srv = httptest.NewServer(srv.Handler())
	e.t.Cleanup(e.srv.Close)
}

func (e *env) admin(tn tenant) string { return e.tokenFor(tenancy.Admin, tn) }

func (e *env) expect(res response, status int, what string) map[string]any {
	e.t.Helper()
	if res.Status != status {
		e.t.Fatalf("%s: %d, want %d: %s", what, res.Status, status, res.Body)
	}
	if len(res.Body) == 0 {
		return nil
	}
	return res.json(e.t)
}

func eventData(t *testing.T, raw []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("event data %s: %v", raw, err)
	}
	return m
}

func obj(m map[string]any, key string) map[string]any {
	v, _ := m[key].(map[string]any)
	return v
}

func num(m map[string]any, key string) int64 {
	f, _ := m[key].(float64)
	return int64(f)
}

func orderBody(items ...any) map[string]any {
	return map[string]any{"order_type": "takeout", "items": items}
}

func line(id string, qty int) map[string]any {
	return map[string]any{"menu_item_id": id, "quantity": qty}
}

func TestOrderPricingPromotionAndLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ramen, gyoza := e.menuItem(e.A, 1250), e.menuItem(e.A, 600)
	e.promotion(e.A, func(f *promoFields) { f.Code, f.DiscountValue = "TENOFF", 10 })
	tok := e.tokenFor(tenancy.Staff, e.A)

	body := orderBody(line(ramen.ID, 2), line(gyoza.ID, 3))
	body["promotion_code"] = "tenoff"
	o := obj(e.expect(e.do("POST", "/api/v1/orders", tok, body), 201, "create order"), "order")
	if num(o, "subtotal_cents") != 4300 || num(o, "discount_cents") != 430 || num(o, "total_amount_cents") != 3870 {
		t.Fatalf("totals: %v", o)
	}
	if ok, _ := regexp.MatchString(`^AS-O-\d{9}$`, o["number"].(string)); !ok {
		t.Errorf("order number %q is not AS-O-<NNN>", o["number"])
	}
	id := o["id"].(string)

	created, err := e.db.EventsOfType(e.ctxOf(e.A), string(events.OrderCreated), 10)
	if err != nil || len(created) != 1 || num(eventData(t, created[0].Data), "total_amount_cents") != 3870 ||
		eventData(t, created[0].Data)["order_id"] != id || eventData(t, created[0].Data)["order_number"] != o["number"] {
		t.Fatalf("order_created events: %v (err %v)", created, err)
	}

	// The lifecycle: skipping a step or leaving a final state is refused.
	e.expect(e.do("POST", "/api/v1/orders/"+id+"/status", tok, map[string]any{"status": "ready"}), 409, "pending → ready")
	e.expect(e.do("POST", "/api/v1/orders/"+id+"/status", tok, map[string]any{"status": "refunded"}), 400, "→ refunded by hand")
	e.expect(e.do("POST", "/api/v1/orders/"+id+"/status", tok, map[string]any{"status": "eaten"}), 400, "unknown status")
	for _, s := range []string{"preparing", "ready", "completed"} {
		got := obj(e.expect(e.do("POST", "/api/v1/orders/"+id+"/status", tok, map[string]any{"status": s}), 200, s), "order")
		if got["status"] != s {
			t.Fatalf("status %v, want %s", got["status"], s)
		}
	}
	e.expect(e.do("POST", "/api/v1/orders/"+id+"/status", tok, map[string]any{"status": "cancelled"}), 409, "completed → cancelled")

	notes := e.expect(e.do("GET", "/api/v1/notifications?order_id="+id, tok, nil), 200, "notifications")
	if num(notes, "total") != 3 {
		t.Fatalf("%d notifications for three status changes: %s", num(notes, "total"), notes)
	}

	// The menu price changing later does not change the order.
	e.expect(e.do("PATCH", "/api/v1/menu_items/"+ramen.ID, e.admin(e.A), map[string]any{"price_cents": 9999}), 200, "reprice")
	got := obj(e.expect(e.do("GET", "/api/v1/orders/"+id, tok, nil), 200, "get order"), "order")
	if num(got, "total_amount_cents") != 3870 || len(got["items"].([]any)) != 2 {
		t.Fatalf("order changed with the menu: %v", got)
	}

	// An unavailable item is refused.
	e.expect(e.do("PATCH", "/api/v1/menu_items/"+gyoza.ID, e.admin(e.A), map[string]any{"available": false}), 200, "86 gyoza")
	e.expect(e.do("POST", "/api/v1/orders", tok, orderBody(line(gyoza.ID, 1))), 409, "unavailable item")

	// Filters narrow the list.
	list := e.expect(e.do("GET", "/api/v1/orders?status=completed&per_page=5", tok, nil), 200, "filter")
	if num(list, "total") != 1 {
		t.Fatalf("completed orders: %v", list)
	}
	e.expect(e.do("GET", "/api/v1/orders?colour=red", tok, nil), 400, "unknown filter")
}

func TestPromotionRules(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	item := e.menuItem(e.A, 1000)
	now := time.Now().UTC()
	past, future := now.Add(-time.Hour), now.Add(time.Hour)
	one := 1
	e.promotion(e.A, func(f *promoFields) { f.Code, f.EndsAt = "OLD", &past })
	e.promotion(e.A, func(f *promoFields) { f.Code, f.StartsAt = "SOON", &future })
	e.promotion(e.A, func(f *promoFields) { f.Code, f.DiscountType, f.DiscountValue = "BIG", "fixed", 5000 })
	e.promotion(e.A, func(f *promoFields) { f.Code, f.MaxUses = "ONCE", &one })
	e.promotion(e.A, func(f *promoFields) { f.Code, f.MinOrderCents = "MIN", 5000 })
	tok := e.tokenFor(tenancy.Customer, e.A)
	try := func(code string) response {
		b := orderBody(line(item.ID, 2))
		b["promotion_code"] = code
		return e.do("POST", "/api/v1/orders", tok, b)
	}
	e.expect(try("OLD"), 400, "expired promotion")
	e.expect(try("SOON"), 400, "future promotion")
	e.expect(try("NOPE"), 400, "unknown code")
	e.expect(try("MIN"), 400, "below minimum")
	big := obj(e.expect(try("BIG"), 201, "fixed larger than subtotal"), "order")
	if num(big, "total_amount_cents") != 0 || num(big, "discount_cents") != 2000 {
		t.Fatalf("a discount larger than the order: %v", big)
	}
	e.expect(try("ONCE"), 201, "first use")
	e.expect(try("ONCE"), 409, "second use of a single-use code")
}

func TestCustomersSeeOnlyTheirOwnOrders(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	item := e.menuItem(e.A, 800)
	cust := e.tokenFor(tenancy.Customer, e.A)
	other := e.customer(e.A)

	mine := obj(e.expect(e.do("POST", "/api/v1/orders", cust, orderBody(line(item.ID, 1))), 201, "own order"), "order")
	if mine["customer_id"] == nil {
		t.Fatal("a guest's order is not linked to the guest")
	}
	b := orderBody(line(item.ID, 1))
	b["customer_id"] = other.ID
	e.expect(e.do("POST", "/api/v1/orders", cust, b), 404, "ordering as another customer")
	theirs := e.order(e.A, other.ID)
	e.expect(e.do("GET", "/api/v1/orders/"+theirs.ID, cust, nil), 404, "another guest's order")
	e.expect(e.do("GET", "/api/v1/orders/"+mine["id"].(string), cust, nil), 200, "own order")
	list := e.expect(e.do("GET", "/api/v1/orders", cust, nil), 200, "own list")
	if num(list, "total") != 1 {
		t.Fatalf("a guest sees %d orders, want 1", num(list, "total"))
	}
	e.expect(e.do("POST", "/api/v1/orders/"+mine["id"].(string)+"/status", cust, map[string]any{"status": "cancelled"}), 403, "guest moves order")
	e.expect(e.do("POST", "/api/v1/feedback", cust, map[string]any{"rating": 5, "order_id": theirs.ID}), 404, "feedback on another's order")
	e.expect(e.do("POST", "/api/v1/feedback", cust, map[string]any{"rating": 5, "order_id": mine["id"]}), 201, "feedback on own order")
}

// TestCrossTenantReferencesInBodies: tenant A naming tenant B's rows inside
// a request body is refused as "not found", leaks nothing of B and changes
// neither tenant.
func TestCrossTenantReferencesInBodies(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	bItem := e.menuItem(e.B, 1500)
	bCust, bTable, bOrder := e.customer(e.B), e.table(e.B, 4), e.order(e.B, "")
	bMethod, bProgram := e.paymentMethod(e.B), e.program(e.B)
	aItem, aOrder, aMethod := e.menuItem(e.A, 900), e.order(e.A, ""), e.paymentMethod(e.A)
	bCat := e.category(e.B)
	start := time.Now().UTC().Add(72 * time.Hour).Format(time.RFC3339)

	cases := []struct {
		name, method, path string
		body               map[string]any
	}{
		{"B's menu item in an order", "POST", "/api/v1/orders", orderBody(line(aItem.ID, 1), line(bItem.ID, 1))},
		{"B's customer in an order", "POST", "/api/v1/orders", map[string]any{"customer_id": bCust.ID, "items": []any{line(aItem.ID, 1)}}},
		{"B's table in an order", "POST", "/api/v1/orders", map[string]any{"table_id": bTable.ID, "items": []any{line(aItem.ID, 1)}}},
		{"B's order in a payment", "POST", "/api/v1/payments", map[string]any{"order_id": bOrder.ID, "payment_method_id": aMethod.ID, "amount_cents": 100}},
		{"B's payment method", "POST", "/api/v1/payments", map[string]any{"order_id": aOrder.ID, "payment_method_id": bMethod.ID, "amount_cents": 100}},
		{"B's table in a reservation", "POST", "/api/v1/reservations", map[string]any{"table_id": bTable.ID, "name": "X", "party_size": 2, "starts_at": start}},
		{"B's customer in a reservation", "POST", "/api/v1/reservations", map[string]any{"customer_id": bCust.ID, "name": "X", "party_size": 2, "starts_at": start}},
		{"B's category for a menu item", "POST", "/api/v1/menu_items", map[string]any{"category_id": bCat.ID, "name": "X", "price_cents": 100}},
		{"B's category moved into", "PATCH", "/api/v1/menu_items/" + aItem.ID, map[string]any{"category_id": bCat.ID}},
		{"B's order in feedback", "POST", "/api/v1/feedback", map[string]any{"rating": 3, "order_id": bOrder.ID}},
		{"B's customer in feedback", "POST", "/api/v1/feedback", map[string]any{"rating": 3, "customer_id": bCust.ID}},
		{"B's program for a reward", "POST", "/api/v1/loyalty_rewards", map[string]any{"program_id": bProgram.ID, "name": "X", "points_cost": 5}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			beforeA, beforeB := e.dataSnapshot(e.A), e.snapshot(e.B)
			res := e.do(c.method, c.path, e.admin(e.A), c.body)
			if res.Status != http.StatusNotFound {
				t.Errorf("%d, want 404: %s", res.Status, res.Body)
			}
			for _, secret := range []string{bItem.Name, bCust.Name, bTable.Label, bOrder.Number, bMethod.Name, e.B.R.Name} {
				if strings.Contains(string(res.Body), secret) {
					t.Errorf("the answer shows B's %q: %s", secret, res.Body)
				}
			}
			if e.snapshot(e.B) != beforeB {
				t.Error("tenant B changed")
			}
			if c.method == "POST" && e.dataSnapshot(e.A) != beforeA {
				t.Error("tenant A changed although the request was refused")
			}
		})
	}
}

func TestHostileInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	item := e.menuItem(e.A, 1000)
	tok := e.admin(e.A)
	start := time.Now().UTC().Add(72 * time.Hour).Format(time.RFC3339)
	huge := `{"name":"` + strings.Repeat("x", 10<<20) + `"}`
	cases := []struct {
		name, method, path string
		body               any
		status             int
		field              string
	}{
		{"negative quantity", "POST", "/api/v1/orders", orderBody(line(item.ID, -2)), 400, "items[0].quantity"},
		{"zero quantity", "POST", "/api/v1/orders", orderBody(line(item.ID, 0)), 400, "items[0].quantity"},
		{"absurd quantity", "POST", "/api/v1/orders", orderBody(line(item.ID, 1_000_000_000)), 400, "items[0].quantity"},
		{"price sent with a line", "POST", "/api/v1/orders", orderBody(map[string]any{"menu_item_id": item.ID, "quantity": 1, "unit_price_cents": 1}), 400, "unit_price_cents"},
		{"total sent with an order", "POST", "/api/v1/orders", map[string]any{"items": []any{line(item.ID, 1)}, "total_amount_cents": 1}, 400, "total_amount_cents"},
		{"status sent with an order", "POST", "/api/v1/orders", map[string]any{"items": []any{line(item.ID, 1)}, "status": "completed"}, 400, "status"},
		{"no items", "POST", "/api/v1/orders", orderBody(), 400, "items"},
		{"malformed item id", "POST", "/api/v1/orders", orderBody(line("'; DROP TABLE orders; --", 1)), 404, "items[0].menu_item_id"},
		{"quantity as text", "POST", "/api/v1/orders", `{"items":[{"menu_item_id":"x","quantity":"two"}]}`, 400, "items.quantity"},
		{"negative price", "POST", "/api/v1/menu_items", map[string]any{"category_id": item.CategoryID, "name": "X", "price_cents": -100}, 400, "price_cents"},
		{"absurd party size", "POST", "/api/v1/reservations", map[string]any{"name": "X", "party_size": 100000, "starts_at": start}, 400, "party_size"},
		{"negative party size", "POST", "/api/v1/reservations", map[string]any{"name": "X", "party_size": -4, "starts_at": start}, 400, "party_size"},
		{"reservation in the past", "POST", "/api/v1/reservations", map[string]any{"name": "X", "party_size": 2, "starts_at": "2001-01-01T19:00:00Z"}, 400, "starts_at"},
		{"unknown field", "POST", "/api/v1/customers", map[string]any{"name": "X", "is_admin": true}, 400, "is_admin"},
		{"unknown field in a patch", "PATCH", "/api/v1/menu_items/" + item.ID, map[string]any{"id": store.NewID()}, 400, "id"},
		{"negative payment", "POST", "/api/v1/payments", map[string]any{"order_id": store.NewID(), "payment_method_id": store.NewID(), "amount_cents": -500}, 400, "amount_cents"},
		{"rating out of range", "POST", "/api/v1/feedback", map[string]any{"rating": 6}, 400, "rating"},
		{"table for a thousand", "POST", "/api/v1/tables", map[string]any{"label": "X", "capacity": 1000}, 400, "capacity"},
		{"ten megabyte body", "POST", "/api/v1/customers", huge, 413, ""},
		{"not JSON", "POST", "/api/v1/orders", "items=1", 400, ""},
		{"array body", "PATCH", "/api/v1/menu_items/" + item.ID, `[1,2]`, 400, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := e.dataSnapshot(e.A)
			res := e.do(c.method, c.path, tok, c.body)
			if res.Status != c.status {
				t.Fatalf("%d, want %d: %.300s", res.Status, c.status, res.Body)
			}
			errBody := obj(res.json(t), "error")
			if errBody == nil || errBody["message"] == "" {
				t.Fatalf("no error message: %.300s", res.Body)
			}
			if c.field != "" && errBody["field"] != c.field {
				t.Errorf("field %v, want %s", errBody["field"], c.field)
			}
			if e.dataSnapshot(e.A) != before {
				t.Error("a refused request changed data")
			}
		})
	}
}

func TestPaymentsAndRefunds(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	gw := &payments.TestGateway{Decline: map[int64]bool{777: true}}
	e.useServer(func(s *httpapi.Server) { s.Gateway = gw })
	o := e.order(e.A, "") // 2 × 12.50
	cash, card := e.paymentMethod(e.A), e.paymentMethod(e.A)
	staffTok, adminTok := e.tokenFor(tenancy.Staff, e.A), e.admin(e.A)
	pay := func(m string, amount int64) response {
		return e.do("POST", "/api/v1/payments", staffTok, map[string]any{"order_id": o.ID, "payment_method_id": m, "amount_cents": amount})
	}
	declined := obj(e.expect(pay(card.ID, 777), 201, "declined charge"), "payment")
	if declined["status"] != "failed" {
		t.Fatalf("a declined charge is %v", declined["status"])
	}
	p1 := obj(e.expect(pay(cash.ID, 1000), 201, "partial payment"), "payment")
	e.expect(pay(card.ID, 1501), 400, "paying more than owed")
	p2 := obj(e.expect(pay(card.ID, 1500), 201, "the rest"), "payment")
	e.expect(pay(card.ID, 1), 400, "paying a settled order")
	if len(gw.Charges) != 2 {
		t.Fatalf("gateway saw %d charges, want 2", len(gw.Charges))
	}
	evs, err := e.db.EventsOfType(e.ctxOf(e.A), string(events.PaymentProcessed), 10)
	if err != nil || len(evs) != 2 {
		t.Fatalf("%d payment_processed events (err %v), want 2 (not the declined one)", len(evs), err)
	}
	if d := eventData(t, evs[0].Data); num(d, "amount_cents") != 1500 || d["payment_method"] != "card" {
		t.Errorf("payment_processed data: %v", d)
	}

	refund := func(id string, body any) response {
		return e.do("POST", "/api/v1/payments/"+id+"/refund", adminTok, body)
	}
	e.expect(refund(p1["id"].(string), map[string]any{"amount_cents": -5}), 400, "negative refund")
	e.expect(refund(p1["id"].(string), map[string]any{"amount_cents": 1001}), 400, "refund above payment")
	part := obj(e.expect(refund(p1["id"].(string), map[string]any{"amount_cents": 400}), 200, "partial refund"), "payment")
	if part["status"] != "partially_refunded" || num(part, "refunded_cents") != 400 {
		t.Fatalf("partial refund: %v", part)
	}
	e.expect(refund(declined["id"].(string), map[string]any{}), 409, "refund of a failed payment")
	e.expect(refund(p1["id"].(string), map[string]any{}), 200, "rest of the first payment")
	if got, _ := e.db.Order(e.ctxOf(e.A), o.ID); got.Status != "pending" {
		t.Fatalf("order is %s with a payment still held, want pending", got.Status)
	}
	full := obj(e.expect(refund(p2["id"].(string), map[string]any{}), 200, "full refund"), "payment")
	if full["status"] != "refunded" {
		t.Fatalf("payment after full refund: %v", full)
	}
	got, _ := e.db.Order(e.ctxOf(e.A), o.ID)
	if got.Status != "refunded" {
		t.Fatalf("order after full refund: %s, want refunded", got.Status)
	}
	if gw.Refunds[p2["gateway_reference"].(string)] != 1500 {
		t.Errorf("gateway refunds: %v", gw.Refunds)
	}
	e.expect(refund(p2["id"].(string), map[string]any{"amount_cents": 1}), 409, "refund of a refunded payment")
	e.expect(pay(cash.ID, 100), 409, "paying a refunded order")
}

type recordingChannel struct {
	mu   sync.Mutex
	sent []notify.Notification
}

func (c *recordingChannel) Name() string { return "recording" }

func (c *recordingChannel) Deliver(_ context.Context, _ string, n notify.Notification) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sent = append(c.sent, n)
	return nil
}

func TestNotificationChannelsArePluggable(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	o := e.order(e.A, "")
	tok := e.tokenFor(tenancy.Staff, e.A)
	// No channel: recorded, pending.
	e.expect(e.do("POST", "/api/v1/orders/"+o.ID+"/status", tok, map[string]any{"status": "preparing"}), 200, "preparing")
	list := e.expect(e.do("GET", "/api/v1/notifications?status=pending", tok, nil), 200, "pending")
	if num(list, "total") != 1 {
		t.Fatalf("pending notifications: %v", list)
	}
	ch := &recordingChannel{}
	e.useServer(func(s *httpapi.Server) { s.Channels = []notify.Channel{ch} })
	e.expect(e.do("POST", "/api/v1/orders/"+o.ID+"/status", tok, map[string]any{"status": "ready"}), 200, "ready")
	if len(ch.sent) != 1 || !strings.Contains(ch.sent[0].Message, o.Number) || !strings.Contains(ch.sent[0].Message, "ready") {
		t.Fatalf("channel got %v", ch.sent)
	}
	if sent := e.expect(e.do("GET", "/api/v1/notifications?status=sent", tok, nil), 200, "sent"); num(sent, "total") != 1 {
		t.Fatalf("sent notifications: %v", sent)
	}
}

func TestReservationRules(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	small, big := e.table(e.A, 2), e.table(e.A, 8)
	tok := e.tokenFor(tenancy.Customer, e.A)
	day := time.Now().UTC().AddDate(0, 0, 10).Truncate(24 * time.Hour)
	at := func(h int) string { return day.Add(time.Duration(h) * time.Hour).Format(time.RFC3339) }
	book := func(body map[string]any) response { return e.do("POST", "/api/v1/reservations", tok, body) }

	e.expect(book(map[string]any{"table_id": small.ID, "name": "Mori", "party_size": 5, "starts_at": at(19)}), 400, "party larger than the table")
	r := obj(e.expect(book(map[string]any{"name": "Mori", "party_size": 5, "starts_at": at(19)}), 201, "auto-assigned"), "reservation")
	if r["table_id"] != big.ID {
		t.Fatalf("a party of 5 got table %v, want the 8-seat table", r["table_id"])
	}
	if ok, _ := regexp.MatchString(`^AS-R-\d{9}$`, r["number"].(string)); !ok {
		t.Errorf("reservation number %q is not AS-R-<NNN>", r["number"])
	}
	e.expect(book(map[string]any{"table_id": big.ID, "name": "Ono", "party_size": 2, "starts_at": at(20)}), 409, "overlapping booking")
	e.expect(book(map[string]any{"name": "Ono", "party_size": 6, "starts_at": at(20)}), 409, "no table free")
	e.expect(book(map[string]any{"table_id": big.ID, "name": "Ono", "party_size": 2, "starts_at": at(21)}), 201, "after the first ends")

	// Special events close a date or cap its guests.
	admin := e.admin(e.A)
	closed := day.AddDate(0, 0, 1)
	e.expect(e.do("POST", "/api/v1/special_events", admin, map[string]any{"name": "Private", "date": closed.Format(time.DateOnly), "closed": true}), 201, "close")
	e.expect(book(map[string]any{"name": "Ono", "party_size": 2, "starts_at": closed.Add(19 * time.Hour).Format(time.RFC3339)}), 409, "closed date")
	capped := day.AddDate(0, 0, 2)
	e.expect(e.do("POST", "/api/v1/special_events", admin, map[string]any{"name": "Tasting", "date": capped.Format(time.DateOnly), "max_guests": 6}), 201, "cap")
	e.expect(book(map[string]any{"name": "A", "party_size": 4, "starts_at": capped.Add(18 * time.Hour).Format(time.RFC3339)}), 201, "within cap")
	e.expect(book(map[string]any{"name": "B", "party_size": 3, "starts_at": capped.Add(12 * time.Hour).Format(time.RFC3339)}), 409, "over cap")
	e.expect(book(map[string]any{"name": "C", "party_size": 2, "starts_at": capped.Add(12 * time.Hour).Format(time.RFC3339)}), 201, "up to cap")

	// A guest cancels their own booking, and the table is free again.
	e.expect(e.do("POST", "/api/v1/reservations/"+r["id"].(string)+"/cancel", tok, map[string]any{}), 200, "cancel")
	e.expect(e.do("POST", "/api/v1/reservations/"+r["id"].(string)+"/cancel", tok, map[string]any{}), 409, "cancel twice")
	e.expect(book(map[string]any{"table_id": big.ID, "name": "Ono", "party_size": 2, "starts_at": at(19)}), 201, "freed table")
	other := e.reservation(e.A)
	e.expect(e.do("POST", "/api/v1/reservations/"+other.ID+"/cancel", tok, map[string]any{}), 404, "cancel another guest's booking")
}

func TestLoyaltyEarnedOnCompletionAndRedeemed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	staffTok := e.tokenFor(tenancy.Staff, e.A)
	admin := e.admin(e.A)
	prog := obj(e.expect(e.do("POST", "/api/v1/loyalty_programs", admin, map[string]any{"name": "Club", "points_per_unit": 2}), 201, "program"), "loyalty_program")
	reward := obj(e.expect(e.do("POST", "/api/v1/loyalty_rewards", admin, map[string]any{"program_id": prog["id"], "name": "Tea", "points_cost": 40}), 201, "reward"), "loyalty_reward")
	cust := e.customer(e.A)
	o := e.order(e.A, cust.ID) // 25.00 → 50 points
	for _, s := range []string{"preparing", "ready"} {
		e.expect(e.do("POST", "/api/v1/orders/"+o.ID+"/status", staffTok, map[string]any{"status": s}), 200, s)
	}
	balance := func() int64 {
		l := e.expect(e.do("GET", "/api/v1/customer_loyalty?customer_id="+cust.ID, staffTok, nil), 200, "balance")
		accts := l["customer_loyalty"].([]any)
		if len(accts) == 0 {
			return 0
		}
		return num(accts[0].(map[string]any), "points_balance")
	}
	if b := balance(); b != 0 {
		t.Fatalf("points before completion: %d", b)
	}
	e.expect(e.do("POST", "/api/v1/orders/"+o.ID+"/status", staffTok, map[string]any{"status": "completed"}), 200, "complete")
	if b := balance(); b != 50 {
		t.Fatalf("points after a 25.00 order at 2/unit: %d, want 50", b)
	}
	redeem := func() response {
		return e.do("POST", "/api/v1/loyalty_rewards/"+reward["id"].(string)+"/redeem", staffTok, map[string]any{"customer_id": cust.ID})
	}
	e.expect(redeem(), 200, "redeem")
	e.expect(redeem(), 409, "redeem without enough points")
	if b := balance(); b != 10 {
		t.Fatalf("balance %d, want 10", b)
	}
	// Concurrent redemptions never drive a balance negative.
	e.loyaltyTopUp(cust.ID, prog["id"].(string), 100) // 110 points: two rewards
	var wg sync.WaitGroup
	results := make([]int, 8)
	for i := range results {
		wg.Add(1)
		go func() { defer wg.Done(); results[i] = redeem().Status }()
	}
	wg.Wait()
	okCount := 0
	for _, s := range results {
		if s == 200 {
			okCount++
		} else if s != 409 {
			t.Errorf("redeem answered %d", s)
		}
	}
	if okCount != 2 || balance() != 30 {
		t.Fatalf("%d concurrent redemptions succeeded, balance %d; want 2 and 30", okCount, balance())
	}
}

func (e *env) loyaltyTopUp(customerID, programID string, pts int) {
	e.t.Helper()
	if _, err := e.db.SQL().Exec(`UPDATE customer_loyalty SET points_balance = points_balance + $1 WHERE customer_id = $2 AND program_id = $3`,
		pts, customerID, programID); err != nil {
		e.t.Fatal(err)
	}
}

func TestMenuCrudAndFilters(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.admin(e.A)
	cat := obj(e.expect(e.do("POST", "/api/v1/menu_categories", admin, map[string]any{"name": "Noodles"}), 201, "category"), "menu_category")
	e.expect(e.do("POST", "/api/v1/menu_categories", admin, map[string]any{"name": "Noodles"}), 409, "duplicate category")
	for i, name := range []string{"Shoyu Ramen", "Miso Ramen", "Udon"} {
		e.expect(e.do("POST", "/api/v1/menu_items", admin, map[string]any{"category_id": cat["id"], "name": name, "price_cents": 1000 + 100*i}), 201, name)
	}
	cust := e.tokenFor(tenancy.Customer, e.A)
	l := e.expect(e.do("GET", "/api/v1/menu_items?q=ramen&category_id="+cat["id"].(string), cust, nil), 200, "search")
	if num(l, "total") != 2 {
		t.Fatalf("ramen search: %v", l)
	}
	l = e.expect(e.do("GET", "/api/v1/menu_items?per_page=2&page=2&category_id="+cat["id"].(string), cust, nil), 200, "page 2")
	if len(l["menu_items"].([]any)) != 1 || num(l, "total") != 3 {
		t.Fatalf("page 2: %v", l)
	}
	e.expect(e.do("GET", "/api/v1/menu_items?available=maybe", cust, nil), 400, "bad bool filter")
	e.expect(e.do("DELETE", "/api/v1/menu_categories/"+cat["id"].(string), admin, nil), 409, "delete a category with items")
	e.expect(e.do("POST", "/api/v1/menu_items", cust, map[string]any{"category_id": cat["id"], "name": "X", "price_cents": 1}), 403, "guest edits menu")
	// Admin writes are audited.
	entries, err := e.db.AuditLog(e.ctxOf(e.A), 50, 0)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, en := range entries {
		found = found || (en.ResourceType == "menu_item" && en.Action == "create")
	}
	if !found {
		t.Error("menu item creation not audited")
	}
}
