package store

import (
	"database/sql"
	"reflect"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/staff"
)

// StaffMembers are the people working at the tenant.
var StaffMembers = &Entity[staff.Member]{
	table: "staff_members", what: "staff member", resource: "staff_member",
	columns: []string{"id", "user_id", "name", "position", "email", "phone", "active", "created_at", "updated_at"},
	scan: func(sc scanner) (staff.Member, error) {
		var v staff.Member
		var user sql.NullString
		err := sc.Scan(&v.ID, &user, &v.Name, &v.Position, &v.Email, &v.Phone, &v.Active, &v.CreatedAt, &v.UpdatedAt)
		v.UserID = user.String
		utc(&v.CreatedAt, &v.UpdatedAt)
		return v, err
	},
	values: func(v *staff.Member) []any {
		return []any{v.ID, nullable(v.UserID), v.Name, v.Position, v.Email, v.Phone, v.Active, v.CreatedAt, v.UpdatedAt}
	},
	id: func(v *staff.Member) string { return v.ID },
	touch: func(v *staff.Member, now time.Time, creating bool) {
		stamp(&v.ID, &v.CreatedAt, &v.UpdatedAt, now, creating)
	},
	refs: func(v *staff.Member) []ref {
		return []ref{{field: "user_id", table: "users", what: "user", id: v.UserID}}
	},
	order:  "name, id",
	filter: reflect.TypeFor[StaffFilter](),
}
