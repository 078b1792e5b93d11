// Package notify owns the notifications a restaurant sends its guests when
// their orders change. Notifications are always recorded; delivering them
// is the business of pluggable channels, none of which is on by default.
package notify

import (
	"context"
	"fmt"
	"time"
)

// Status is where a notification stands.
type Status string

const (
	Pending Status = "pending" // recorded, not delivered (no channel)
	Sent    Status = "sent"
	Failed  Status = "failed"
	Read    Status = "read"
)

// Notification is one message to a guest (or the staff) about an order.
type Notification struct {
	ID         string    `json:"id"`
	OrderID    string    `json:"order_id,omitempty"`
	CustomerID string    `json:"customer_id,omitempty"`
	Kind       string    `json:"kind"`
	Message    string    `json:"message"`
	Status     Status    `json:"status"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// OrderStatusKind is the kind of the notification an order's status change
// creates.
const OrderStatusKind = "order_status"

// OrderStatusMessage is the text a guest reads when an order changes.
func OrderStatusMessage(number, status string) string {
	switch status {
	case "preparing":
		return fmt.Sprintf("Order %s is being prepared.", number)
	case "ready":
		return fmt.Sprintf("Order %s is ready.", number)
	case "completed":
		return fmt.Sprintf("Order %s is complete. Thank you!", number)
	case "cancelled":
		return fmt.Sprintf("Order %s was cancelled.", number)
	case "refunded":
		return fmt.Sprintf("Order %s was refunded.", number)
	}
	return fmt.Sprintf("Order %s is %s.", number, status)
}

// Channel delivers a notification (e-mail, SMS, push …). Deliver runs after
// the change is committed; an error marks the notification failed.
type Channel interface {
	Name() string
	Deliver(ctx context.Context, restaurantID string, n Notification) error
}
