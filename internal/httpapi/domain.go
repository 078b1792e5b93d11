package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/apperr"
	"github.com/shimizu-tech/ordersuite/internal/customers"
	"github.com/shimizu-tech/ordersuite/internal/loyalty"
	"github.com/shimizu-tech/ordersuite/internal/menu"
	"github.com/shimizu-tech/ordersuite/internal/ordering"
	"github.com/shimizu-tech/ordersuite/internal/payments"
	"github.com/shimizu-tech/ordersuite/internal/reservations"
	"github.com/shimizu-tech/ordersuite/internal/staff"
	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// team is everyone who works for the restaurant.
var team = []tenancy.Role{tenancy.SuperAdmin, tenancy.Admin, tenancy.Staff}

// domainRoutes are the restaurant's own models under /api/v1.
func domainRoutes() []Route {
	var all []Route
	for _, c := range collections {
		all = append(all, c.routes(c.base, c.read, c.write, c.del)...)
	}
	for _, section := range [][]Route{
		openapiRoutes(),
		feedbackRoutes(),
		orderRoutes(),
		paymentRoutes(),
		reservationRoutes(),
		loyaltyRoutes(),
		notificationRoutes(),
	} {
		all = append(all, section...)
	}
	return all
}

// collection is a resource at its path with who may read, write and
// delete it.
type collection struct {
	base             string
	read, write, del []tenancy.Role
	collectionRoutes
}

type collectionRoutes interface {
	routes(base string, read, write, del []tenancy.Role) []Route
	shapes(base string) map[string]shape
}

// collections are the models served as plain collections: staff and
// admins keep them; customers read the menu, events, payment methods and
// the loyalty program.
var collections = []collection{
	{"/api/v1/menu_categories", anyRole, admins, admins, menuCategories},
	{"/api/v1/menu_items", anyRole, admins, admins, menuItems},
	{"/api/v1/customers", team, team, admins, customerResource},
	{"/api/v1/staff_members", admins, admins, admins, staffResource},
	{"/api/v1/tables", team, admins, admins, tableResource},
	{"/api/v1/special_events", anyRole, admins, admins, eventResource},
	{"/api/v1/promotions", team, admins, admins, promotionResource},
	{"/api/v1/payment_methods", anyRole, admins, admins, methodResource},
	{"/api/v1/loyalty_programs", anyRole, admins, admins, programResource},
	{"/api/v1/loyalty_rewards", anyRole, admins, admins, rewardResource},
}

// resource serves a collection stored through a store.Entity: T is the
// record, F its writable fields (embedded in T and decoded from bodies).
type resource[T, F any] struct {
	one, many string // JSON keys of one record and of a list
	entity    *store.Entity[T]
	defaults  func() F
	fields    func(v *T) *F
	validate  func(f *F) error
	// required are fields a create body must give even though their zero
	// value would pass validation (a price of 0 is a price, not a default).
	required []string
}

// filterKind is how a list filter's query value is read; the store
// declares each entity's filters, and the kinds come with them.
type filterKind = store.FilterKind

const (
	textFilter = store.TextFilter
	likeFilter = store.LikeFilter // case-insensitive substring
	idFilter   = store.IDFilter
	boolFilter = store.BoolFilter
	intFilter  = store.IntFilter
	dateFilter = store.DateFilter // YYYY-MM-DD
	timeFilter = store.TimeFilter // RFC 3339
)

// filterSource is a store entity's declaration of its list filters.
type filterSource interface {
	Filters() []store.Filter
	NewFilter(values map[string]any) (any, error)
}

// kindsOf lists an entity's filters by name, for the API description.
func kindsOf(src filterSource) map[string]filterKind {
	out := map[string]filterKind{}
	for _, f := range src.Filters() {
		out[f.Name] = f.Kind
	}
	return out
}

var menuCategories = resource[menu.Category, menu.CategoryFields]{
	one: "menu_category", many: "menu_categories", entity: store.MenuCategories,
	defaults: func() menu.CategoryFields { return menu.CategoryFields{} },
	fields:   func(v *menu.Category) *menu.CategoryFields { return &v.CategoryFields },
	validate: func(f *menu.CategoryFields) error { f.Name = strings.TrimSpace(f.Name); return f.Validate() },
}

var menuItems = resource[menu.Item, menu.ItemFields]{
	one: "menu_item", many: "menu_items", entity: store.MenuItems,
	defaults: menu.NewItemFields,
	fields:   func(v *menu.Item) *menu.ItemFields { return &v.ItemFields },
	validate: func(f *menu.ItemFields) error { f.Name = strings.TrimSpace(f.Name); return f.Validate() },
	required: []string{"category_id", "name", "price_cents"},
}

var customerResource = resource[customers.Customer, customers.Fields]{
	one: "customer", many: "customers", entity: store.Customers,
	defaults: func() customers.Fields { return customers.Fields{} },
	fields:   func(v *customers.Customer) *customers.Fields { return &v.Fields },
	validate: func(f *customers.Fields) error { f.Normalize(); return f.Validate() },
}

var staffResource = resource[staff.Member, staff.Fields]{
	one: "staff_member", many: "staff_members", entity: store.StaffMembers,
	defaults: staff.NewFields,
	fields:   func(v *staff.Member) *staff.Fields { return &v.Fields },
	validate: func(f *staff.Fields) error { return f.Validate() },
}

var tableResource = resource[reservations.Table, reservations.TableFields]{
	one: "table", many: "tables", entity: store.Tables,
	defaults: reservations.NewTableFields,
	fields:   func(v *reservations.Table) *reservations.TableFields { return &v.TableFields },
	validate: func(f *reservations.TableFields) error { return f.Validate() },
}

var eventResource = resource[reservations.SpecialEvent, reservations.EventFields]{
	one: "special_event", many: "special_events", entity: store.SpecialEvents,
	defaults: func() reservations.EventFields { return reservations.EventFields{} },
	fields:   func(v *reservations.SpecialEvent) *reservations.EventFields { return &v.EventFields },
	validate: func(f *reservations.EventFields) error { return f.Validate() },
}

var promotionResource = resource[ordering.Promotion, ordering.PromotionFields]{
	one: "promotion", many: "promotions", entity: store.Promotions,
	defaults: ordering.NewPromotionFields,
	fields:   func(v *ordering.Promotion) *ordering.PromotionFields { return &v.PromotionFields },
	validate: func(f *ordering.PromotionFields) error { return f.Validate() },
}

var methodResource = resource[payments.Method, payments.MethodFields]{
	one: "payment_method", many: "payment_methods", entity: store.PaymentMethods,
	defaults: payments.NewMethodFields,
	fields:   func(v *payments.Method) *payments.MethodFields { return &v.MethodFields },
	validate: func(f *payments.MethodFields) error { return f.Validate() },
}

var programResource = resource[loyalty.Program, loyalty.ProgramFields]{
	one: "loyalty_program", many: "loyalty_programs", entity: store.LoyaltyPrograms,
	defaults: loyalty.NewProgramFields,
	fields:   func(v *loyalty.Program) *loyalty.ProgramFields { return &v.ProgramFields },
	validate: func(f *loyalty.ProgramFields) error { return f.Validate() },
}

var rewardResource = resource[loyalty.Reward, loyalty.RewardFields]{
	one: "loyalty_reward", many: "loyalty_rewards", entity: store.LoyaltyRewards,
	defaults: loyalty.NewRewardFields,
	fields:   func(v *loyalty.Reward) *loyalty.RewardFields { return &v.RewardFields },
	validate: func(f *loyalty.RewardFields) error { return f.Validate() },
}

// routes are the five routes of a collection: list and create at base, get,
// update and delete at base/{id}.
func (rs resource[T, F]) routes(base string, read, write, del []tenancy.Role) []Route {
	return []Route{
		{Method: "GET", Pattern: base, Handler: rs.list, Roles: read, Scope: TenantScoped},
		{Method: "POST", Pattern: base, Handler: rs.create, Roles: write, Scope: TenantScoped},
		{Method: "GET", Pattern: base + "/{id}", Handler: rs.get, Roles: read, Scope: TenantScoped},
		{Method: "PATCH", Pattern: base + "/{id}", Handler: rs.update, Roles: write, Scope: TenantScoped},
		{Method: "DELETE", Pattern: base + "/{id}", Handler: rs.remove, Roles: del, Scope: TenantScoped},
	}
}

func (rs resource[T, F]) list(s *Server, w http.ResponseWriter, r *http.Request) error {
	lq, pg, err := readListQuery(r, rs.entity)
	if err != nil {
		return err
	}
	list, total, err := store.List(r.Context(), s.DB, rs.entity, lq)
	if err != nil {
		return err
	}
	writeList(w, rs.many, list, pg, total)
	return nil
}

func (rs resource[T, F]) create(s *Server, w http.ResponseWriter, r *http.Request) error {
	f := rs.defaults()
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	if err := decodeJSONBody(r, body, &f); err != nil {
		return err
	}
	if err := checkPresence(body, nil, rs.required); err != nil {
		return err
	}
	if err := rs.validate(&f); err != nil {
		return err
	}
	var v T
	*rs.fields(&v) = f
	v, err = store.Create(r.Context(), s.DB, rs.entity, v)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{rs.one: v})
	return nil
}

func (rs resource[T, F]) get(s *Server, w http.ResponseWriter, r *http.Request) error {
	v, err := store.Get(r.Context(), s.DB, rs.entity, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{rs.one: v})
	return nil
}

// update applies the fields present in the body over the stored record:
// absent fields keep their values.
func (rs resource[T, F]) update(s *Server, w http.ResponseWriter, r *http.Request) error {
	patch, err := readPatch(w, r)
	if err != nil {
		return err
	}
	v, err := store.Update(r.Context(), s.DB, rs.entity, r.PathValue("id"), func(v *T) error {
		f := *rs.fields(v)
		if err := checkPresence(patch, &f, nil); err != nil {
			return err
		}
		if err := patch.applyTo(&f); err != nil {
			return err
		}
		if err := rs.validate(&f); err != nil {
			return err
		}
		*rs.fields(v) = f
		return nil
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{rs.one: v})
	return nil
}

func (rs resource[T, F]) remove(s *Server, w http.ResponseWriter, r *http.Request) error {
	if err := store.Delete(r.Context(), s.DB, rs.entity, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// patchBody is a PATCH body read (bounded, one object) before the record
// it changes is locked.
type patchBody []byte

func readPatch(w http.ResponseWriter, r *http.Request) (patchBody, error) {
	var raw json.RawMessage
	if err := decodeJSON(w, r, &raw); err != nil {
		return nil, err
	}
	if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] != '{' {
		return nil, apperr.Errorf(apperr.Invalid, "request body must be a JSON object")
	}
	return patchBody(raw), nil
}

// applyTo decodes the body over dst, refusing unknown fields.
func (p patchBody) applyTo(dst any) error {
	dec := json.NewDecoder(bytes.NewReader(p))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil && !errors.Is(err, io.EOF) {
		return jsonError(err)
	}
	return nil
}

// readListQuery reads page, per_page and the collection's filters; any
// other query parameter is refused so a mistyped filter is not ignored.
func readListQuery(r *http.Request, src filterSource) (store.ListQuery, page, error) {
	pg, err := readPage(r)
	if err != nil {
		return store.ListQuery{}, pg, err
	}
	lq := store.ListQuery{Limit: pg.PerPage, Offset: pg.offset()}
	kinds := kindsOf(src)
	values := map[string]any{}
	for name, vals := range r.URL.Query() {
		if name == "page" || name == "per_page" || name == "restaurant_id" {
			continue
		}
		kind, ok := kinds[name]
		if !ok {
			return lq, pg, apperr.InvalidField(name, "unknown filter")
		}
		v, err := parseFilter(name, vals[0], kind)
		if err != nil {
			return lq, pg, err
		}
		values[name] = v
	}
	lq.Filter, err = src.NewFilter(values)
	return lq, pg, err
}

func parseFilter(name, v string, kind filterKind) (any, error) {
	switch kind {
	case likeFilter:
		if len(v) > 200 {
			return nil, apperr.InvalidField(name, "must be at most 200 characters")
		}
		return v, nil
	case idFilter:
		if !store.ValidID(v) {
			return nil, apperr.InvalidField(name, "must be an id")
		}
		return v, nil
	case boolFilter:
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, apperr.InvalidField(name, "must be true or false")
		}
		return b, nil
	case intFilter:
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return nil, apperr.InvalidField(name, "must be a non-negative integer")
		}
		return n, nil
	case dateFilter:
		if _, err := time.Parse(time.DateOnly, v); err != nil {
			return nil, apperr.InvalidField(name, "must be a date YYYY-MM-DD")
		}
		return v, nil
	case timeFilter:
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return nil, apperr.InvalidField(name, "must be an RFC 3339 time")
		}
		return t.UTC(), nil
	}
	if len(v) > 200 {
		return nil, apperr.InvalidField(name, "must be at most 200 characters")
	}
	return v, nil
}

// writeList answers a page of a list.
func writeList(w http.ResponseWriter, key string, list any, pg page, total int) {
	writeJSON(w, http.StatusOK, map[string]any{key: list, "page": pg.Page, "per_page": pg.PerPage, "total": total})
}
