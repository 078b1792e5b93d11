package store

import (
	"reflect"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/payments"
)

// PaymentMethods are the ways the tenant accepts money.
var PaymentMethods = &Entity[payments.Method]{
	table: "payment_methods", what: "payment method", resource: "payment_method",
	columns: []string{"id", "name", "kind", "active", "created_at", "updated_at"},
	scan: func(sc scanner) (payments.Method, error) {
		var v payments.Method
		err := sc.Scan(&v.ID, &v.Name, &v.Kind, &v.Active, &v.CreatedAt, &v.UpdatedAt)
		utc(&v.CreatedAt, &v.UpdatedAt)
		return v, err
	},
	values: func(v *payments.Method) []any { return []any{v.ID, v.Name, v.Kind, v.Active, v.CreatedAt, v.UpdatedAt} },
	id:     func(v *payments.Method) string { return v.ID },
	touch: func(v *payments.Method, now time.Time, creating bool) {
		stamp(&v.ID, &v.CreatedAt, &v.UpdatedAt, now, creating)
	},
	order:  "name, id",
	filter: reflect.TypeFor[PaymentMethodFilter](),
}
