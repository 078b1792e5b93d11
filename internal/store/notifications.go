package store

import (
	"context"
	"database/sql"
	"reflect"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/notify"
)

// Notifications are what the tenant told its guests.
var Notifications = &Entity[notify.Notification]{
	table: "notifications", what: "notification", resource: "notification",
	columns: []string{"id", "order_id", "customer_id", "kind", "message", "status", "created_at", "updated_at"},
	scan: func(sc scanner) (notify.Notification, error) {
		var v notify.Notification
		var order, cust sql.NullString
		err := sc.Scan(&v.ID, &order, &cust, &v.Kind, &v.Message, &v.Status, &v.CreatedAt, &v.UpdatedAt)
		v.OrderID, v.CustomerID = order.String, cust.String
		utc(&v.CreatedAt, &v.UpdatedAt)
		return v, err
	},
	values: func(v *notify.Notification) []any {
		return []any{v.ID, nullable(v.OrderID), nullable(v.CustomerID), v.Kind, v.Message, v.Status, v.CreatedAt, v.UpdatedAt}
	},
	id: func(v *notify.Notification) string { return v.ID },
	touch: func(v *notify.Notification, now time.Time, creating bool) {
		stamp(&v.ID, &v.CreatedAt, &v.UpdatedAt, now, creating)
	},
	order:  "created_at DESC, id DESC",
	filter: reflect.TypeFor[NotificationFilter](),
}

// SetNotificationStatus records a delivery outcome (or that it was read).
// Errors: NotFound when the tenant has no such notification.
func (db *DB) SetNotificationStatus(ctx context.Context, id string, status notify.Status) (notify.Notification, error) {
	return Update(ctx, db, Notifications, id, func(n *notify.Notification) error {
		n.Status = status
		return nil
	})
}
