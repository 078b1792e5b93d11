package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/customers"
	"github.com/shimizu-tech/ordersuite/internal/loyalty"
	"github.com/shimizu-tech/ordersuite/internal/menu"
	"github.com/shimizu-tech/ordersuite/internal/notify"
	"github.com/shimizu-tech/ordersuite/internal/ordering"
	"github.com/shimizu-tech/ordersuite/internal/payments"
	"github.com/shimizu-tech/ordersuite/internal/reservations"
	"github.com/shimizu-tech/ordersuite/internal/staff"
	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// The restaurant domain's routes join the generated authorization,
// isolation and tenant-status tests through these fixtures and bodies.
func init() {
	for pattern, fx := range map[string]func(e *env, tn tenant) map[string]string{
		"/api/v1/menu_categories/{id}":  func(e *env, tn tenant) map[string]string { return idOf(e.category(tn).ID) },
		"/api/v1/menu_items/{id}":       func(e *env, tn tenant) map[string]string { return idOf(e.menuItem(tn, 1250).ID) },
		"/api/v1/customers/{id}":        func(e *env, tn tenant) map[string]string { return idOf(e.customer(tn).ID) },
		"/api/v1/staff_members/{id}":    func(e *env, tn tenant) map[string]string { return idOf(e.staffMember(tn).ID) },
		"/api/v1/tables/{id}":           func(e *env, tn tenant) map[string]string { return idOf(e.table(tn, 4).ID) },
		"/api/v1/special_events/{id}":   func(e *env, tn tenant) map[string]string { return idOf(e.specialEvent(tn).ID) },
		"/api/v1/promotions/{id}":       func(e *env, tn tenant) map[string]string { return idOf(e.promotion(tn, nil).ID) },
		"/api/v1/payment_methods/{id}":  func(e *env, tn tenant) map[string]string { return idOf(e.paymentMethod(tn).ID) },
		"/api/v1/loyalty_programs/{id}": func(e *env, tn tenant) map[string]string { return idOf(e.program(tn).ID) },
		"/api/v1/loyalty_rewards/{id}":  func(e *env, tn tenant) map[string]string { return idOf(e.reward(tn, e.program(tn), 100).ID) },
		"/api/v1/loyalty_rewards/{id}/redeem": func(e *env, tn tenant) map[string]string {
			return idOf(e.reward(tn, e.program(tn), 100).ID)
		},
		"/api/v1/orders/{id}":              func(e *env, tn tenant) map[string]string { return idOf(e.order(tn, "").ID) },
		"/api/v1/orders/{id}/status":       func(e *env, tn tenant) map[string]string { return idOf(e.order(tn, "").ID) },
		"/api/v1/payments/{id}":            func(e *env, tn tenant) map[string]string { return idOf(e.payment(tn).ID) },
		"/api/v1/payments/{id}/refund":     func(e *env, tn tenant) map[string]string { return idOf(e.payment(tn).ID) },
		"/api/v1/reservations/{id}":        func(e *env, tn tenant) map[string]string { return idOf(e.reservation(tn).ID) },
		"/api/v1/reservations/{id}/status": func(e *env, tn tenant) map[string]string { return idOf(e.reservation(tn).ID) },
		"/api/v1/reservations/{id}/cancel": func(e *env, tn tenant) map[string]string { return idOf(e.reservation(tn).ID) },
		"/api/v1/customer_loyalty/{id}":    func(e *env, tn tenant) map[string]string { return idOf(e.loyaltyAccount(tn).ID) },
		"/api/v1/notifications/{id}":       func(e *env, tn tenant) map[string]string { return idOf(e.notification(tn).ID) },
		"/api/v1/notifications/{id}/read":  func(e *env, tn tenant) map[string]string { return idOf(e.notification(tn).ID) },
		"/api/v1/feedback/{id}": func(e *env, tn tenant) map[string]string {
			return idOf(create(e, tn, store.Feedback, customers.Feedback{FeedbackFields: customers.FeedbackFields{Rating: 4}}).ID)
		},
	} {
		resourceFixtures[pattern] = fx
	}
	for route, body := range map[string]any{
		"POST /api/v1/menu_categories":             map[string]any{"name": "Desserts"},
		"PATCH /api/v1/menu_categories/{id}":       map[string]any{"position": 3},
		"POST /api/v1/menu_items":                  map[string]any{"category_id": store.NewID(), "name": "Mochi", "price_cents": 450},
		"PATCH /api/v1/menu_items/{id}":            map[string]any{"price_cents": 1300, "available": false},
		"POST /api/v1/customers":                   map[string]any{"name": "Hana", "email": "hana@example.test"},
		"PATCH /api/v1/customers/{id}":             map[string]any{"notes": "window seat"},
		"POST /api/v1/staff_members":               map[string]any{"name": "Ken", "position": "chef"},
		"PATCH /api/v1/staff_members/{id}":         map[string]any{"active": false},
		"POST /api/v1/tables":                      map[string]any{"label": "T-new", "capacity": 4},
		"PATCH /api/v1/tables/{id}":                map[string]any{"capacity": 6},
		"POST /api/v1/special_events":              map[string]any{"name": "Private party", "date": "2030-01-01", "closed": true},
		"PATCH /api/v1/special_events/{id}":        map[string]any{"max_guests": 20},
		"POST /api/v1/promotions":                  map[string]any{"code": "WELCOME", "discount_type": "percent", "discount_value": 10},
		"PATCH /api/v1/promotions/{id}":            map[string]any{"description": "changed"},
		"POST /api/v1/payment_methods":             map[string]any{"name": "Cash", "kind": "cash"},
		"PATCH /api/v1/payment_methods/{id}":       map[string]any{"active": false},
		"POST /api/v1/loyalty_programs":            map[string]any{"name": "Stamps", "points_per_unit": 2},
		"PATCH /api/v1/loyalty_programs/{id}":      map[string]any{"points_per_unit": 3},
		"POST /api/v1/loyalty_rewards":             map[string]any{"program_id": store.NewID(), "name": "Free tea", "points_cost": 50},
		"PATCH /api/v1/loyalty_rewards/{id}":       map[string]any{"points_cost": 60},
		"POST /api/v1/loyalty_rewards/{id}/redeem": map[string]any{},
		"POST /api/v1/orders":                      map[string]any{"order_type": "takeout", "items": []any{map[string]any{"menu_item_id": store.NewID(), "quantity": 1}}},
		"POST /api/v1/orders/{id}/status":          map[string]any{"status": "preparing"},
		"POST /api/v1/payments":                    map[string]any{"order_id": store.NewID(), "payment_method_id": store.NewID(), "amount_cents": 100},
		"POST /api/v1/payments/{id}/refund":        map[string]any{"amount_cents": 100},
		"POST /api/v1/reservations":                map[string]any{"name": "Sato", "party_size": 2, "starts_at": time.Now().Add(48 * time.Hour).Format(time.RFC3339)},
		"POST /api/v1/reservations/{id}/status":    map[string]any{"status": "seated"},
		"POST /api/v1/reservations/{id}/cancel":    map[string]any{},
		"POST /api/v1/notifications/{id}/read":     map[string]any{},
		"POST /api/v1/feedback":                    map[string]any{"rating": 5, "comment": "Lovely"},
	} {
		validBodies[route] = body
	}
}

func idOf(id string) map[string]string { return map[string]string{"id": id} }

func (e *env) ctxOf(tn tenant) context.Context {
	return tenancy.WithTenant(context.Background(), tn.R.ID)
}

// create stores v in tn directly, as fixtures do.
func create[T any](e *env, tn tenant, ent *store.Entity[T], v T) T {
	e.t.Helper()
	out, err := store.Create(e.ctxOf(tn), e.db, ent, v)
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

func unique(prefix string) string { return fmt.Sprintf("%s %d", prefix, rand.Int64()) }

func (e *env) category(tn tenant) menu.Category {
	e.t.Helper()
	return create(e, tn, store.MenuCategories,
		menu.Category{CategoryFields: menu.CategoryFields{Name: unique("Mains")}})
}

func (e *env) menuItem(tn tenant, price int64) menu.Item {
	e.t.Helper()
	c := e.category(tn)
	return create(e, tn, store.MenuItems, menu.Item{ItemFields: menu.ItemFields{
		CategoryID: c.ID, Name: unique("Ramen"), PriceCents: price, Available: true}})
}

func (e *env) customer(tn tenant) customers.Customer {
	e.t.Helper()
	return create(e, tn, store.Customers,
		customers.Customer{Fields: customers.Fields{Name: unique("Guest"), Email: "guest@" + tn.R.Prefix + ".test"}})
}

func (e *env) staffMember(tn tenant) staff.Member {
	e.t.Helper()
	return create(e, tn, store.StaffMembers,
		staff.Member{Fields: staff.Fields{Name: unique("Cook"), Position: "chef", Active: true}})
}

func (e *env) table(tn tenant, capacity int) reservations.Table {
	e.t.Helper()
	return create(e, tn, store.Tables,
		reservations.Table{TableFields: reservations.TableFields{Label: unique("T"), Capacity: capacity, Active: true}})
}

var eventDays atomic.Int64

func (e *env) specialEvent(tn tenant) reservations.SpecialEvent {
	e.t.Helper()
	// One date per restaurant may hold an event: each fixture takes the next day.
	day := time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, int(eventDays.Add(1))).Format(time.DateOnly)
	return create(e, tn, store.SpecialEvents,
		reservations.SpecialEvent{EventFields: reservations.EventFields{Name: "Gala", Date: day}})
}

func (e *env) promotion(tn tenant, change func(f *ordering.PromotionFields)) ordering.Promotion {
	e.t.Helper()
	f := ordering.PromotionFields{Code: fmt.Sprintf("P%d", rand.Int64()), DiscountType: ordering.Percent, DiscountValue: 10, Active: true}
	if change != nil {
		change(&f)
	}
	return create(e, tn, store.Promotions, ordering.Promotion{PromotionFields: f})
}

func (e *env) paymentMethod(tn tenant) payments.Method {
	e.t.Helper()
	return create(e, tn, store.PaymentMethods,
		payments.Method{MethodFields: payments.MethodFields{Name: unique("Card"), Kind: "card", Active: true}})
}

func (e *env) program(tn tenant) loyalty.Program {
	e.t.Helper()
	return create(e, tn, store.LoyaltyPrograms,
		loyalty.Program{ProgramFields: loyalty.ProgramFields{Name: unique("Club"), PointsPerUnit: 1, Active: true}})
}

func (e *env) reward(tn tenant, p loyalty.Program, cost int64) loyalty.Reward {
	e.t.Helper()
	return create(e, tn, store.LoyaltyRewards,
		loyalty.Reward{RewardFields: loyalty.RewardFields{ProgramID: p.ID, Name: unique("Tea"), PointsCost: cost, Active: true}})
}

func (e *env) order(tn tenant, customerID string) ordering.Order {
	e.t.Helper()
	mi := e.menuItem(tn, 1250)
	o, err := e.db.CreateOrder(e.ctxOf(tn), ordering.Request{CustomerID: customerID, OrderType: ordering.Takeout,
		Items: []ordering.LineRequest{{MenuItemID: mi.ID, Quantity: 2}}})
	if err != nil {
		e.t.Fatal(err)
	}
	return o
}

func (e *env) payment(tn tenant) payments.Payment {
	e.t.Helper()
	o := e.order(tn, "")
	p, _, err := e.db.RecordPayment(e.ctxOf(tn), payments.Request{OrderID: o.ID, PaymentMethodID: e.paymentMethod(tn).ID,
		AmountCents: o.TotalAmountCents}, payments.Offline{})
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

func (e *env) reservation(tn tenant) reservations.Reservation {
	e.t.Helper()
	start := time.Now().UTC().Add(24*time.Hour + time.Duration(rand.IntN(10000))*time.Minute).Truncate(time.Minute)
	r, err := e.db.CreateReservation(e.ctxOf(tn), reservations.Request{TableID: e.table(tn, 4).ID, Name: "Sato",
		PartySize: 2, StartsAt: start, EndsAt: start.Add(2 * time.Hour)})
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

func (e *env) loyaltyAccount(tn tenant) loyalty.Account {
	e.t.Helper()
	return create(e, tn, store.LoyaltyAccounts, loyalty.Account{CustomerID: e.customer(tn).ID, ProgramID: e.program(tn).ID, PointsBalance: 500})
}

func (e *env) notification(tn tenant) notify.Notification {
	e.t.Helper()
	return create(e, tn, store.Notifications, notify.Notification{Kind: "order_status", Message: "Order ready", Status: notify.Pending})
}

type promoFields = ordering.PromotionFields

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// operational tables record that requests happened (events, their rollups,
// flag evaluations), which refused requests do too.
var operational = map[string]bool{"tenant_events": true, "tenant_event_rollups": true, "tenant_route_rollups": true, "tenant_daily_users": true, "flag_evaluations": true}

// dataSnapshot captures a tenant's business data: everything but the
// operational tables.
func (e *env) dataSnapshot(tn tenant) string {
	e.t.Helper()
	all := map[string]any{}
	for _, table := range append([]string{"restaurants"}, store.TenantTables...) {
		if operational[table] {
			continue
		}
		rows, err := e.db.TenantRows(context.Background(), table, tn.R.ID)
		if err != nil {
			e.t.Fatal(err)
		}
		all[table] = rows
	}
	return string(mustJSON(e.t, all))
}
