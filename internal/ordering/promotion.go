package ordering

import (
	"strings"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/apperr"
	"github.com/shimizu-tech/ordersuite/internal/menu"
)

// DiscountType is how a promotion reduces a subtotal.
type DiscountType string

const (
	Percent DiscountType = "percent" // value is a percentage, 1–100
	Fixed   DiscountType = "fixed"   // value is an amount in cents
)

// PromotionFields are the writable fields of a promotion.
type PromotionFields struct {
	Code          string       `json:"code"`
	Description   string       `json:"description"`
	DiscountType  DiscountType `json:"discount_type"`
	DiscountValue int64        `json:"discount_value"`
	MinOrderCents int64        `json:"min_order_cents"`
	StartsAt      *time.Time   `json:"starts_at"`
	EndsAt        *time.Time   `json:"ends_at"`
	MaxUses       *int         `json:"max_uses"`
	Active        bool         `json:"active"`
}

// Promotion is a code that discounts an order.
type Promotion struct {
	ID string `json:"id"`
	PromotionFields
	Uses      int       `json:"uses"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// NewPromotionFields are the defaults of a new promotion: active.
func NewPromotionFields() PromotionFields { return PromotionFields{Active: true} }

// NormalizeCode is how codes are stored and matched: case-insensitive.
func NormalizeCode(code string) string { return strings.ToUpper(strings.TrimSpace(code)) }

// Validate checks a promotion's fields.
func (f *PromotionFields) Validate() error {
	f.Code = NormalizeCode(f.Code)
	if err := menu.Text("code", f.Code, 1, 50); err != nil {
		return err
	}
	if err := menu.Text("description", f.Description, 0, 1000); err != nil {
		return err
	}
	switch f.DiscountType {
	case Percent:
		if f.DiscountValue < 1 || f.DiscountValue > 100 {
			return apperr.InvalidField("discount_value", "a percentage must be from 1 to 100")
		}
	case Fixed:
		if f.DiscountValue < 1 || f.DiscountValue > menu.MaxPriceCents {
			return apperr.InvalidField("discount_value", "an amount must be from 1 to %d cents", menu.MaxPriceCents)
		}
	default:
		return apperr.InvalidField("discount_type", "must be percent or fixed")
	}
	if f.MinOrderCents < 0 || f.MinOrderCents > 100*menu.MaxPriceCents {
		return apperr.InvalidField("min_order_cents", "must not be negative")
	}
	if f.StartsAt != nil && f.EndsAt != nil && !f.EndsAt.After(*f.StartsAt) {
		return apperr.InvalidField("ends_at", "must be after starts_at")
	}
	if f.MaxUses != nil && *f.MaxUses < 1 {
		return apperr.InvalidField("max_uses", "must be at least 1")
	}
	return nil
}

// Discount is what the promotion takes off subtotal at now, or why it does
// not apply. Uses are counted by the store in the order's transaction.
func (p Promotion) Discount(subtotal int64, now time.Time) (int64, error) {
	invalid := func(msg string) error { return apperr.InvalidField("promotion_code", "%s", msg) }
	switch {
	case !p.Active:
		return 0, invalid("this promotion is not active")
	case p.StartsAt != nil && now.Before(*p.StartsAt):
		return 0, invalid("this promotion has not started yet")
	case p.EndsAt != nil && !now.Before(*p.EndsAt):
		return 0, invalid("this promotion has ended")
	case p.MaxUses != nil && p.Uses >= *p.MaxUses:
		return 0, apperr.Errorf(apperr.Conflict, "this promotion has been used up")
	case subtotal < p.MinOrderCents:
		return 0, invalid("the order is below this promotion's minimum")
	}
	d := p.DiscountValue
	if p.DiscountType == Percent {
		d = subtotal * p.DiscountValue / 100
	}
	return min(d, subtotal), nil
}
