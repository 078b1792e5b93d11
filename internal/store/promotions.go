package store

import (
	"database/sql"
	"reflect"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/ordering"
)

// Promotions are the tenant's promotion codes. Uses are counted only by
// order creation, never written through an update.
var Promotions = &Entity[ordering.Promotion]{
	table: "promotions", what: "promotion", resource: "promotion",
	columns: []string{"id", "code", "description", "discount_type", "discount_value", "min_order_cents",
		"starts_at", "ends_at", "max_uses", "active", "created_at", "updated_at"},
	scan: func(sc scanner) (ordering.Promotion, error) {
		var v ordering.Promotion
		var starts, ends sql.NullTime
		var max sql.NullInt64
		err := sc.Scan(&v.ID, &v.Code, &v.Description, &v.DiscountType, &v.DiscountValue, &v.MinOrderCents,
			&starts, &ends, &max, &v.Active, &v.CreatedAt, &v.UpdatedAt, &v.Uses)
		v.StartsAt, v.EndsAt, v.MaxUses = timePtr(starts), timePtr(ends), intPtr(max)
		utc(&v.CreatedAt, &v.UpdatedAt)
		return v, err
	},
	values: func(v *ordering.Promotion) []any {
		return []any{v.ID, v.Code, v.Description, v.DiscountType, v.DiscountValue, v.MinOrderCents,
			nullTimePtr(v.StartsAt), nullTimePtr(v.EndsAt), nullInt(v.MaxUses), v.Active, v.CreatedAt, v.UpdatedAt}
	},
	id: func(v *ordering.Promotion) string { return v.ID },
	touch: func(v *ordering.Promotion, now time.Time, creating bool) {
		stamp(&v.ID, &v.CreatedAt, &v.UpdatedAt, now, creating)
	},
	order:  "code, id",
	extra:  []string{"uses"},
	filter: reflect.TypeFor[PromotionFilter](),
}
