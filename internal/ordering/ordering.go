// Package ordering owns orders: how they are priced from the menu and a
// promotion code, how their numbers are formed, and which status changes
// are allowed. It holds the rules; the store applies them in a transaction.
package ordering

import (
	"fmt"
	"strings"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/apperr"
	"github.com/shimizu-tech/ordersuite/internal/menu"
)

// Limits on one order, so a hostile body cannot build an absurd one.
const (
	MaxLines    = 100
	MaxQuantity = 100
)

// Status is where an order stands.
type Status string

const (
	Pending   Status = "pending"
	Preparing Status = "preparing"
	Ready     Status = "ready"
	Completed Status = "completed"
	Cancelled Status = "cancelled"
	Refunded  Status = "refunded"
)

// Statuses lists every status in lifecycle order.
var Statuses = []Status{Pending, Preparing, Ready, Completed, Cancelled, Refunded}

// Valid reports whether s is a known status.
func (s Status) Valid() bool {
	for _, x := range Statuses {
		if s == x {
			return true
		}
	}
	return false
}

// transitions are the moves the kitchen and the counter may make. Refunded
// is reached only by refunding the payments in full.
var transitions = map[Status][]Status{
	Pending:   {Preparing, Cancelled},
	Preparing: {Ready, Cancelled},
	Ready:     {Completed, Cancelled},
}

// CheckTransition refuses a status change the lifecycle does not allow.
func CheckTransition(from, to Status) error {
	if !to.Valid() {
		return apperr.InvalidField("status", "must be one of pending, preparing, ready, completed, cancelled")
	}
	if to == Refunded {
		return apperr.InvalidField("status", "an order becomes refunded when its payments are refunded in full")
	}
	for _, s := range transitions[from] {
		if s == to {
			return nil
		}
	}
	return apperr.Errorf(apperr.Conflict, "an order cannot go from %s to %s", from, to)
}

// Type is how the order reaches the guest.
type Type string

const (
	DineIn   Type = "dine_in"
	Takeout  Type = "takeout"
	Delivery Type = "delivery"
)

// LineRequest is one line a caller orders: a menu item and a quantity. It
// has no price: prices come from the menu.
type LineRequest struct {
	MenuItemID string `json:"menu_item_id"`
	Quantity   int    `json:"quantity"`
	Notes      string `json:"notes"`
}

// Request is a new order as a caller sends it. Unknown fields (prices,
// totals) are refused when it is decoded.
type Request struct {
	CustomerID    string        `json:"customer_id,omitempty"`
	TableID       string        `json:"table_id,omitempty"`
	OrderType     Type          `json:"order_type"`
	PromotionCode string        `json:"promotion_code,omitempty"`
	Notes         string        `json:"notes"`
	Items         []LineRequest `json:"items"`
}

// Validate checks a request before any price is looked up.
func (r *Request) Validate() error {
	if r.OrderType == "" {
		r.OrderType = Takeout
	}
	switch r.OrderType {
	case DineIn, Takeout, Delivery:
	default:
		return apperr.InvalidField("order_type", "must be one of dine_in, takeout, delivery")
	}
	if err := menu.Text("notes", r.Notes, 0, 2000); err != nil {
		return err
	}
	if len(r.Items) == 0 {
		return apperr.InvalidField("items", "an order needs at least one item")
	}
	if len(r.Items) > MaxLines {
		return apperr.InvalidField("items", "an order may have at most %d lines", MaxLines)
	}
	for i, l := range r.Items {
		field := fmt.Sprintf("items[%d]", i)
		if strings.TrimSpace(l.MenuItemID) == "" {
			return apperr.InvalidField(field+".menu_item_id", "is required")
		}
		if l.Quantity < 1 || l.Quantity > MaxQuantity {
			return apperr.InvalidField(field+".quantity", "must be from 1 to %d", MaxQuantity)
		}
		if err := menu.Text(field+".notes", l.Notes, 0, 500); err != nil {
			return err
		}
	}
	r.PromotionCode = strings.TrimSpace(r.PromotionCode)
	return nil
}

// Order is a priced order.
type Order struct {
	ID               string    `json:"id"`
	Number           string    `json:"number"`
	CustomerID       string    `json:"customer_id,omitempty"`
	TableID          string    `json:"table_id,omitempty"`
	PromotionID      string    `json:"promotion_id,omitempty"`
	OrderType        Type      `json:"order_type"`
	Status           Status    `json:"status"`
	Notes            string    `json:"notes"`
	SubtotalCents    int64     `json:"subtotal_cents"`
	DiscountCents    int64     `json:"discount_cents"`
	TotalAmountCents int64     `json:"total_amount_cents"`
	Items            []Item    `json:"items,omitempty"`
	CreatedAt        time.Time `json:"created_at"`
	UpdatedAt        time.Time `json:"updated_at"`
}

// Item is one priced line of an order, with the name and price the menu had
// when it was ordered.
type Item struct {
	ID             string `json:"id"`
	OrderID        string `json:"order_id"`
	MenuItemID     string `json:"menu_item_id"`
	Name           string `json:"name"`
	UnitPriceCents int64  `json:"unit_price_cents"`
	Quantity       int    `json:"quantity"`
	LineTotalCents int64  `json:"line_total_cents"`
	Notes          string `json:"notes"`
}

// Price builds the order's lines and totals from the menu items (by id) and
// an optional promotion valid at now. Unavailable items are refused.
func Price(req Request, items map[string]menu.Item, promo *Promotion, now time.Time) (Order, error) {
	var o Order
	for i, l := range req.Items {
		mi, ok := items[l.MenuItemID]
		if !ok {
			return o, &apperr.Error{Code: apperr.NotFound, Message: "menu item not found", Field: fmt.Sprintf("items[%d].menu_item_id", i)}
		}
		if !mi.Available {
			return o, &apperr.Error{Code: apperr.Conflict, Message: fmt.Sprintf("%s is not available", mi.Name), Field: fmt.Sprintf("items[%d].menu_item_id", i)}
		}
		line := Item{MenuItemID: mi.ID, Name: mi.Name, UnitPriceCents: mi.PriceCents, Quantity: l.Quantity,
			LineTotalCents: mi.PriceCents * int64(l.Quantity), Notes: l.Notes}
		o.Items = append(o.Items, line)
		o.SubtotalCents += line.LineTotalCents
	}
	if promo != nil {
		d, err := promo.Discount(o.SubtotalCents, now)
		if err != nil {
			return o, err
		}
		o.PromotionID, o.DiscountCents = promo.ID, d
	}
	o.TotalAmountCents = o.SubtotalCents - o.DiscountCents
	o.OrderType, o.Notes, o.CustomerID, o.TableID, o.Status = req.OrderType, req.Notes, req.CustomerID, req.TableID, Pending
	return o, nil
}

// Number formats a document number: <PREFIX>-<kind>-<NNN>, where NNN is the
// day (YYMMDD, UTC) followed by that day's sequence, at least three digits.
// The day keeps a daily counter's numbers unique within the restaurant; the
// last digits are what the kitchen calls out.
func Number(prefix, kind string, day time.Time, seq int) string {
	return fmt.Sprintf("%s-%s-%s%03d", prefix, kind, day.UTC().Format("060102"), seq)
}
