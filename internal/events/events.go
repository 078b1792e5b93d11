// Package events is the one path by which the product reports what happened
// in a tenant: logins, orders, payments, requests, errors and security
// alerts. Producers call a Sink; where the events go is the sink's business.
package events

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/store"
)

// Type is an event type of the tenant event log.
type Type string

const (
	UserLogin        Type = "user_login"
	OrderCreated     Type = "order_created"
	PaymentProcessed Type = "payment_processed"
	APIRequest       Type = "api_request"
	Error            Type = "error"
	SecurityAlert    Type = "security_alert"
)

// Types lists every valid event type.
var Types = []Type{UserLogin, OrderCreated, PaymentProcessed, APIRequest, Error, SecurityAlert}

// Valid reports whether t is a known event type.
func (t Type) Valid() bool {
	for _, x := range Types {
		if t == x {
			return true
		}
	}
	return false
}

// Sink receives events. Record must not block on a database write for long:
// it is called on request paths.
type Sink interface {
	Record(ctx context.Context, restaurantID string, t Type, data any)
}

// StoreSink writes each event straight to the database. It suits the
// command-line tools and tests; the server uses a buffered sink.
type StoreSink struct {
	DB  *store.DB
	Log *slog.Logger
}

// Record writes the event; a failure is logged, not returned, because the
// action that produced the event has already happened.
func (s StoreSink) Record(ctx context.Context, restaurantID string, t Type, data any) {
	b, err := json.Marshal(data)
	if err == nil {
		err = s.DB.InsertEvents(context.WithoutCancel(ctx), []store.TenantEvent{{
			RestaurantID: restaurantID, Type: string(t), Data: b, CreatedAt: time.Time{},
		}})
	}
	if err != nil && s.Log != nil {
		s.Log.Error("record tenant event", "type", t, "restaurant_id", restaurantID, "err", err)
	}
}
