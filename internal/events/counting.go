package events

import (
	"context"
	"encoding/json"
	"slices"

	"github.com/shimizu-tech/ordersuite/internal/metrics"
)

// Counting passes every event to Next and keeps the business series
// (tenant_orders_total, tenant_payment_amount_cents_total, tenant_logins_total,
// tenant_errors_total) from the events on their way, so the code that
// creates orders and payments only has to record its events.
type Counting struct {
	Next    Sink
	Metrics *metrics.Metrics
}

// paymentFigures are the fields read from a payment_processed event. The
// amount is amount_cents (amount_cents_total accepted too); the method is
// payment_method (or method).
type paymentFigures struct {
	AmountCents   *float64 `json:"amount_cents"`
	Amount        *float64 `json:"amount_cents_total"`
	PaymentMethod string   `json:"payment_method"`
	Method        string   `json:"method"`
}

// Record counts the event, then hands it on.
func (c Counting) Record(ctx context.Context, restaurantID string, t Type, data any) {
	switch t {
	case UserLogin:
		c.Metrics.TenantLogins.WithLabelValues(restaurantID).Inc()
	case OrderCreated:
		c.Metrics.TenantOrders.WithLabelValues(restaurantID).Inc()
	case PaymentProcessed:
		var p paymentFigures
		if b, err := json.Marshal(data); err == nil {
			_ = json.Unmarshal(b, &p)
		}
		amount := p.AmountCents
		if amount == nil {
			amount = p.Amount
		}
		method := p.PaymentMethod
		if method == "" {
			method = p.Method
		}
		// Keep the label to its fixed values, so every series exists at 0
		// from the start (metrics.InitTenant).
		switch {
		case method == "":
			method = "unknown"
		case !slices.Contains(metrics.PaymentMethods, method):
			method = "other"
		}
		if amount != nil && *amount > 0 {
			c.Metrics.TenantPaymentCents.WithLabelValues(restaurantID, method).Add(*amount)
		}
	case Error:
		var e struct {
			Type string `json:"error_type"`
		}
		if b, err := json.Marshal(data); err == nil {
			_ = json.Unmarshal(b, &e)
		}
		if e.Type == "" || len(e.Type) > 40 {
			e.Type = "unknown"
		}
		c.Metrics.TenantErrors.WithLabelValues(restaurantID, e.Type).Inc()
	}
	c.Next.Record(ctx, restaurantID, t, data)
}
