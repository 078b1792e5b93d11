// Package payments owns how orders are paid and refunded: the restaurant's
// payment methods, payment records, and the gateway that takes the money.
// No real gateway ships; Offline records money taken at the counter and
// TestGateway lets tests decline or fail a charge.
package payments

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/apperr"
	"github.com/shimizu-tech/ordersuite/internal/menu"
)

// Kind is what sort of method a payment method is.
type Kind string

// Kinds lists the known kinds.
var Kinds = []Kind{"cash", "card", "mobile", "voucher", "other"}

// MethodFields are the writable fields of a payment method.
type MethodFields struct {
	Name   string `json:"name"`
	Kind   Kind   `json:"kind"`
	Active bool   `json:"active"`
}

// Method is a way the restaurant accepts money.
type Method struct {
	ID string `json:"id"`
	MethodFields
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// NewMethodFields are the defaults of a new method: active.
func NewMethodFields() MethodFields { return MethodFields{Active: true} }

// Validate checks a payment method.
func (f MethodFields) Validate() error {
	if err := menu.Text("name", f.Name, 1, 100); err != nil {
		return err
	}
	for _, k := range Kinds {
		if f.Kind == k {
			return nil
		}
	}
	return apperr.InvalidField("kind", "must be one of cash, card, mobile, voucher, other")
}

// Status is where a payment stands.
type Status string

const (
	Completed         Status = "completed"
	Failed            Status = "failed"
	PartiallyRefunded Status = "partially_refunded"
	Refunded          Status = "refunded"
)

// Payment is money taken for an order.
type Payment struct {
	ID               string    `json:"id"`
	OrderID          string    `json:"order_id"`
	PaymentMethodID  string    `json:"payment_method_id"`
	AmountCents      int64     `json:"amount_cents"`
	RefundedCents    int64     `json:"refunded_cents"`
	Status           Status    `json:"status"`
	GatewayReference string    `json:"gateway_reference"`
	FailureReason    string    `json:"failure_reason,omitempty"`
	CreatedAt        time.Time `json:"created_at"`
	UpdatedAt        time.Time `json:"updated_at"`
}

// Request asks to pay an order.
type Request struct {
	OrderID         string `json:"order_id"`
	PaymentMethodID string `json:"payment_method_id"`
	AmountCents     int64  `json:"amount_cents"`
}

// Validate checks a payment request.
func (r Request) Validate() error {
	if r.OrderID == "" {
		return apperr.InvalidField("order_id", "is required")
	}
	if r.PaymentMethodID == "" {
		return apperr.InvalidField("payment_method_id", "is required")
	}
	if r.AmountCents < 1 || r.AmountCents > 1000*menu.MaxPriceCents {
		return apperr.InvalidField("amount_cents", "must be a positive amount in cents")
	}
	return nil
}

// Refund applies a refund of amount to p and returns the new state.
func (p Payment) Refund(amount int64) (Payment, error) {
	if p.Status != Completed && p.Status != PartiallyRefunded {
		return p, apperr.Errorf(apperr.Conflict, "a %s payment cannot be refunded", p.Status)
	}
	if amount < 1 {
		return p, apperr.InvalidField("amount_cents", "must be a positive amount in cents")
	}
	if amount > p.AmountCents-p.RefundedCents {
		return p, apperr.InvalidField("amount_cents", "at most %d cents remain to refund", p.AmountCents-p.RefundedCents)
	}
	p.RefundedCents += amount
	p.Status = PartiallyRefunded
	if p.RefundedCents == p.AmountCents {
		p.Status = Refunded
	}
	return p, nil
}

// Charge is what a gateway is asked to take.
type Charge struct {
	RestaurantID string
	OrderID      string
	Method       Method
	AmountCents  int64
}

// ErrDeclined is a gateway's refusal of a charge; the payment is recorded
// as failed.
var ErrDeclined = errors.New("payment declined")

// Gateway takes and returns money. Charge returns the gateway's reference
// for the payment; an error wrapping ErrDeclined records a failed payment,
// any other error records nothing.
type Gateway interface {
	Charge(ctx context.Context, c Charge) (reference string, err error)
	Refund(ctx context.Context, reference string, amountCents int64) error
}

// Offline is the default gateway: money taken at the counter (cash, a card
// terminal that is not connected), recorded as it is entered.
type Offline struct{}

// Charge accepts the payment.
func (Offline) Charge(_ context.Context, c Charge) (string, error) {
	return fmt.Sprintf("offline-%s", c.Method.Kind), nil
}

// Refund accepts the refund.
func (Offline) Refund(context.Context, string, int64) error { return nil }

// TestGateway records charges and refunds in memory and declines the amounts
// it is told to, for tests of the payment flow.
type TestGateway struct {
	mu      sync.Mutex
	Decline map[int64]bool // amounts in cents to decline
	Charges []Charge
	Refunds map[string]int64
	seq     int
}

// Charge records the charge, or declines it.
func (g *TestGateway) Charge(_ context.Context, c Charge) (string, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.Decline[c.AmountCents] {
		return "", fmt.Errorf("test gateway: %w", ErrDeclined)
	}
	g.seq++
	g.Charges = append(g.Charges, c)
	return fmt.Sprintf("test-%d", g.seq), nil
}

// Refund records the refund.
func (g *TestGateway) Refund(_ context.Context, reference string, amount int64) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.Refunds == nil {
		g.Refunds = map[string]int64{}
	}
	g.Refunds[reference] += amount
	return nil
}
