package store

import (
	"database/sql"
	"reflect"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/customers"
)

// Feedback is what the tenant's guests said.
var Feedback = &Entity[customers.Feedback]{
	table: "feedback", what: "feedback", resource: "feedback",
	columns: []string{"id", "customer_id", "order_id", "rating", "comment", "created_at", "updated_at"},
	scan: func(sc scanner) (customers.Feedback, error) {
		var v customers.Feedback
		var cust, order sql.NullString
		err := sc.Scan(&v.ID, &cust, &order, &v.Rating, &v.Comment, &v.CreatedAt, &v.UpdatedAt)
		v.CustomerID, v.OrderID = cust.String, order.String
		utc(&v.CreatedAt, &v.UpdatedAt)
		return v, err
	},
	values: func(v *customers.Feedback) []any {
		return []any{v.ID, nullable(v.CustomerID), nullable(v.OrderID), v.Rating, v.Comment, v.CreatedAt, v.UpdatedAt}
	},
	id: func(v *customers.Feedback) string { return v.ID },
	touch: func(v *customers.Feedback, now time.Time, creating bool) {
		stamp(&v.ID, &v.CreatedAt, &v.UpdatedAt, now, creating)
	},
	refs: func(v *customers.Feedback) []ref {
		return []ref{{field: "customer_id", table: "customers", what: "customer", id: v.CustomerID},
			{field: "order_id", table: "orders", what: "order", id: v.OrderID}}
	},
	order:  "created_at DESC, id DESC",
	filter: reflect.TypeFor[FeedbackFilter](),
}
