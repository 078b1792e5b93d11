package store

import (
	"database/sql"
	"reflect"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/reservations"
)

// Tables are the tenant's dining tables.
var Tables = &Entity[reservations.Table]{
	table: "tables", what: "table", resource: "table",
	columns: []string{"id", "label", "capacity", "location", "active", "created_at", "updated_at"},
	scan: func(sc scanner) (reservations.Table, error) {
		var v reservations.Table
		err := sc.Scan(&v.ID, &v.Label, &v.Capacity, &v.Location, &v.Active, &v.CreatedAt, &v.UpdatedAt)
		utc(&v.CreatedAt, &v.UpdatedAt)
		return v, err
	},
	values: func(v *reservations.Table) []any {
		return []any{v.ID, v.Label, v.Capacity, v.Location, v.Active, v.CreatedAt, v.UpdatedAt}
	},
	id: func(v *reservations.Table) string { return v.ID },
	touch: func(v *reservations.Table, now time.Time, creating bool) {
		stamp(&v.ID, &v.CreatedAt, &v.UpdatedAt, now, creating)
	},
	order:  "label, id",
	filter: reflect.TypeFor[TableFilter](),
}

// SpecialEvents are the tenant's dates with special rules.
var SpecialEvents = &Entity[reservations.SpecialEvent]{
	table: "special_events", what: "special event", resource: "special_event",
	columns: []string{"id", "name", "description", "event_date", "closed", "max_guests", "created_at", "updated_at"},
	scan: func(sc scanner) (reservations.SpecialEvent, error) {
		var v reservations.SpecialEvent
		var max sql.NullInt64
		err := sc.Scan(&v.ID, &v.Name, &v.Description, &v.Date, &v.Closed, &max, &v.CreatedAt, &v.UpdatedAt)
		v.MaxGuests = intPtr(max)
		utc(&v.CreatedAt, &v.UpdatedAt)
		return v, err
	},
	values: func(v *reservations.SpecialEvent) []any {
		return []any{v.ID, v.Name, v.Description, v.Date, v.Closed, nullInt(v.MaxGuests), v.CreatedAt, v.UpdatedAt}
	},
	id: func(v *reservations.SpecialEvent) string { return v.ID },
	touch: func(v *reservations.SpecialEvent, now time.Time, creating bool) {
		stamp(&v.ID, &v.CreatedAt, &v.UpdatedAt, now, creating)
	},
	order:  "event_date, id",
	filter: reflect.TypeFor[SpecialEventFilter](),
}
