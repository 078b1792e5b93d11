package store

import (
	"fmt"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/apperr"
)

// A list's filters are declared once, as a struct per entity in this file:
// each field's filter tag gives the name a request uses and, for text, how
// it is read (id, like, date); its where tag the SQL condition, with one ?
// for the value. The HTTP layer parses and documents requests from the
// same declaration, so the two cannot disagree on a filter's name or type.
// A zero field (empty text, nil pointer, zero time) does not filter.

// MenuCategoryFilter narrows a list of menu categories.
type MenuCategoryFilter struct {
	Q string `filter:"q,like" where:"LOWER(name) LIKE ?"`
}

// MenuItemFilter narrows a list of menu items.
type MenuItemFilter struct {
	CategoryID    string `filter:"category_id,id" where:"category_id = ?"`
	Available     *bool  `filter:"available" where:"available = ?"`
	Q             string `filter:"q,like" where:"LOWER(name) LIKE ?"`
	MinPriceCents *int64 `filter:"min_price_cents" where:"price_cents >= ?"`
	MaxPriceCents *int64 `filter:"max_price_cents" where:"price_cents <= ?"`
}

// CustomerFilter narrows a list of customers.
type CustomerFilter struct {
	Email string `filter:"email" where:"email = ?"`
	Q     string `filter:"q,like" where:"LOWER(name) LIKE ?"`
}

// StaffFilter narrows a list of staff members.
type StaffFilter struct {
	Position string `filter:"position" where:"position = ?"`
	Active   *bool  `filter:"active" where:"active = ?"`
	Q        string `filter:"q,like" where:"LOWER(name) LIKE ?"`
}

// TableFilter narrows a list of tables.
type TableFilter struct {
	Active      *bool  `filter:"active" where:"active = ?"`
	MinCapacity *int64 `filter:"min_capacity" where:"capacity >= ?"`
	Location    string `filter:"location" where:"location = ?"`
}

// SpecialEventFilter narrows a list of special events by day, inclusive.
type SpecialEventFilter struct {
	From   string `filter:"from,date" where:"event_date >= ?"`
	To     string `filter:"to,date" where:"event_date <= ?"`
	Closed *bool  `filter:"closed" where:"closed = ?"`
}

// PromotionFilter narrows a list of promotions.
type PromotionFilter struct {
	Active *bool  `filter:"active" where:"active = ?"`
	Code   string `filter:"code" where:"code = ?"`
}

// PaymentMethodFilter narrows a list of payment methods.
type PaymentMethodFilter struct {
	Kind   string `filter:"kind" where:"kind = ?"`
	Active *bool  `filter:"active" where:"active = ?"`
}

// LoyaltyProgramFilter narrows a list of loyalty programs.
type LoyaltyProgramFilter struct {
	Active *bool `filter:"active" where:"active = ?"`
}

// LoyaltyRewardFilter narrows a list of loyalty rewards.
type LoyaltyRewardFilter struct {
	ProgramID string `filter:"program_id,id" where:"program_id = ?"`
	Active    *bool  `filter:"active" where:"active = ?"`
}

// LoyaltyAccountFilter narrows a list of loyalty accounts. A guest's list
// is their own whatever CustomerID says.
type LoyaltyAccountFilter struct {
	CustomerID string `filter:"customer_id,id" where:"customer_id = ?"`
	ProgramID  string `filter:"program_id,id" where:"program_id = ?"`
}

// FeedbackFilter narrows a list of feedback.
type FeedbackFilter struct {
	Rating     *int64 `filter:"rating" where:"rating = ?"`
	CustomerID string `filter:"customer_id,id" where:"customer_id = ?"`
	OrderID    string `filter:"order_id,id" where:"order_id = ?"`
}

// NotificationFilter narrows a list of notifications.
type NotificationFilter struct {
	OrderID    string `filter:"order_id,id" where:"order_id = ?"`
	CustomerID string `filter:"customer_id,id" where:"customer_id = ?"`
	Status     string `filter:"status" where:"status = ?"`
}

// OrderFilter narrows a list of orders, created in [From, To). A guest's
// list is their own whatever CustomerID says.
type OrderFilter struct {
	Status     string    `filter:"status" where:"status = ?"`
	CustomerID string    `filter:"customer_id,id" where:"customer_id = ?"`
	OrderType  string    `filter:"order_type" where:"order_type = ?"`
	TableID    string    `filter:"table_id,id" where:"table_id = ?"`
	From       time.Time `filter:"from" where:"created_at >= ?"`
	To         time.Time `filter:"to" where:"created_at < ?"`
	Number     string    `filter:"number" where:"number = ?"`
}

// PaymentFilter narrows a list of payments, created in [From, To).
type PaymentFilter struct {
	OrderID         string    `filter:"order_id,id" where:"order_id = ?"`
	PaymentMethodID string    `filter:"payment_method_id,id" where:"payment_method_id = ?"`
	Status          string    `filter:"status" where:"status = ?"`
	From            time.Time `filter:"from" where:"created_at >= ?"`
	To              time.Time `filter:"to" where:"created_at < ?"`
}

// ReservationFilter narrows a list of reservations, starting in [From,
// To). A guest's list is their own whatever CustomerID says.
type ReservationFilter struct {
	Status     string    `filter:"status" where:"status = ?"`
	CustomerID string    `filter:"customer_id,id" where:"customer_id = ?"`
	TableID    string    `filter:"table_id,id" where:"table_id = ?"`
	From       time.Time `filter:"from" where:"starts_at >= ?"`
	To         time.Time `filter:"to" where:"starts_at < ?"`
}

// FilterKind is how a filter's value is written in a request.
type FilterKind int

const (
	TextFilter FilterKind = iota
	IDFilter              // an id
	LikeFilter            // text found anywhere in the value, ignoring case
	BoolFilter            // true or false
	IntFilter             // a non-negative integer
	DateFilter            // YYYY-MM-DD
	TimeFilter            // RFC 3339
)

// Filter is one filter a list accepts.
type Filter struct {
	Name  string
	Kind  FilterKind
	where string
	index int // of the field in the filter struct
}

var declaredFilters sync.Map // reflect.Type → []Filter

// filtersOf reads the declaration of a filter struct type; a malformed one
// is a programming error found by the first test that lists the entity.
func filtersOf(t reflect.Type) []Filter {
	if fs, ok := declaredFilters.Load(t); ok {
		return fs.([]Filter)
	}
	var out []Filter
	for i := range t.NumField() {
		f := t.Field(i)
		name, how, _ := strings.Cut(f.Tag.Get("filter"), ",")
		where := f.Tag.Get("where")
		if name == "" || strings.Count(where, "?") != 1 {
			panic(fmt.Sprintf("store: filter %s.%s needs a filter name and a where condition with one ?", t.Name(), f.Name))
		}
		kind := TextFilter
		switch f.Type {
		case reflect.TypeFor[*bool]():
			kind = BoolFilter
		case reflect.TypeFor[*int64]():
			kind = IntFilter
		case reflect.TypeFor[time.Time]():
			kind = TimeFilter
		case reflect.TypeFor[string]():
			kind = map[string]FilterKind{"": TextFilter, "id": IDFilter, "like": LikeFilter, "date": DateFilter}[how]
		default:
			panic(fmt.Sprintf("store: filter %s.%s has an unsupported type %s", t.Name(), f.Name, f.Type))
		}
		out = append(out, Filter{Name: name, Kind: kind, where: where, index: i})
	}
	declaredFilters.Store(t, out)
	return out
}

// Filters lists the filters the entity's lists accept.
func (e *Entity[T]) Filters() []Filter {
	if e.filter == nil {
		return nil
	}
	return filtersOf(e.filter)
}

// FilterNames lists the names of the filters the entity's lists accept.
func (e *Entity[T]) FilterNames() []string {
	var out []string
	for _, f := range e.Filters() {
		out = append(out, f.Name)
	}
	return out
}

// NewFilter builds the entity's filter struct from values parsed by name:
// a string for text, id, like and date filters, a bool, an int64, or a
// time.Time. Errors: Invalid (Field: the name) for a filter the entity
// lacks or a value of the wrong type.
func (e *Entity[T]) NewFilter(values map[string]any) (any, error) {
	if e.filter == nil {
		for name := range values {
			return nil, apperr.InvalidField(name, "is not a filter of %s lists", e.what)
		}
		return nil, nil
	}
	v := reflect.New(e.filter).Elem()
	fs := filtersOf(e.filter)
	for name, val := range values {
		i := -1
		for _, f := range fs {
			if f.Name == name {
				i = f.index
			}
		}
		if i < 0 {
			return nil, apperr.InvalidField(name, "is not a filter of %s lists", e.what)
		}
		field := v.Field(i)
		x := reflect.ValueOf(val)
		switch {
		case x.Type() == field.Type():
			field.Set(x)
		case field.Kind() == reflect.Pointer && x.Type() == field.Type().Elem():
			p := reflect.New(x.Type())
			p.Elem().Set(x)
			field.Set(p)
		default:
			return nil, apperr.InvalidField(name, "has a value of the wrong type")
		}
	}
	return v.Interface(), nil
}

// where returns the conditions of the set fields of filter, an entity's
// filter struct, numbering placeholders after args.
func (e *Entity[T]) where(filter any, args []any, skip string) (string, []any, error) {
	if filter == nil {
		return "", args, nil
	}
	v := reflect.ValueOf(filter)
	if v.Type() != e.filter {
		return "", nil, fmt.Errorf("store: %s lists take a %v, not a %T", e.what, e.filter, filter)
	}
	var b strings.Builder
	for _, f := range filtersOf(e.filter) {
		field := v.Field(f.index)
		if field.IsZero() || f.Name == skip {
			continue
		}
		val := field.Interface()
		switch x := val.(type) {
		case *bool:
			val = *x
		case *int64:
			val = *x
		case time.Time:
			val = x.UTC()
		case string:
			if f.Kind == LikeFilter {
				val = "%" + strings.ToLower(x) + "%"
			}
		}
		args = append(args, val)
		b.WriteString(" AND " + strings.Replace(f.where, "?", fmt.Sprintf("$%d", len(args)), 1))
	}
	return b.String(), args, nil
}
