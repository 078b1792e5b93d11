package store_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/shimizu-tech/ordersuite/internal/apperr"
	"github.com/shimizu-tech/ordersuite/internal/customers"
	"github.com/shimizu-tech/ordersuite/internal/menu"
	"github.com/shimizu-tech/ordersuite/internal/ordering"
	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/storetest"
)

// TestRefusedOrdersTakeNoNumber: an order is priced from the menu as it
// is when the order is written, a refused order (an item unavailable,
// unknown or another tenant's; a customer or table that is not the
// tenant's) is refused with the field named and takes no number, so the
// next order's number follows the last one written; and the answer is the
// order as stored, lines in the order asked.
func TestRefusedOrdersTakeNoNumber(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t)
	k := newKitchen(t, db, "Refusals", "RF")
	other := newKitchen(t, db, "Elsewhere", "EW")
	soup, err := store.Create(k.ctx, db, store.MenuItems, menu.Item{ItemFields: menu.ItemFields{
		CategoryID: k.item.CategoryID, Name: `Miso "Soup" <small>`, PriceCents: 450, Available: true}})
	if err != nil {
		t.Fatal(err)
	}
	guest, err := store.Create(k.ctx, db, store.Customers, customers.Customer{Fields: customers.Fields{Name: "Guest"}})
	if err != nil {
		t.Fatal(err)
	}
	order := func(req ordering.Request) (ordering.Order, error) {
		if req.OrderType == "" {
			req.OrderType = ordering.Takeout
		}
		return db.CreateOrder(k.ctx, req)
	}
	first, err := order(ordering.Request{CustomerID: guest.ID, Notes: "window seat",
		Items: []ordering.LineRequest{{MenuItemID: soup.ID, Quantity: 2, Notes: "hot"}, {MenuItemID: k.item.ID, Quantity: 1}, {MenuItemID: soup.ID, Quantity: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	if first.SubtotalCents != 2*450+1200+450 || first.TotalAmountCents != first.SubtotalCents || first.CustomerID != guest.ID {
		t.Errorf("first order priced %+v", first)
	}
	stored, err := db.Order(k.ctx, first.ID)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]ordering.Item{}
	for _, it := range stored.Items {
		byID[it.ID] = it
	}
	for i, it := range first.Items {
		if want := []string{soup.Name, k.item.Name, soup.Name}[i]; it.Name != want {
			t.Errorf("line %d is %q, want %q", i, it.Name, want)
		}
		if !reflect.DeepEqual(byID[it.ID], it) {
			t.Errorf("line %d answered %+v, stored %+v", i, it, byID[it.ID])
		}
	}
	stored.Items, first.Items = nil, nil
	if !reflect.DeepEqual(stored, first) {
		t.Errorf("answered %+v\nstored   %+v", first, stored)
	}

	if _, err := store.Update(k.ctx, db, store.MenuItems, soup.ID, func(v *menu.Item) error {
		v.Available = false
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	line := func(id string) []ordering.LineRequest {
		return []ordering.LineRequest{{MenuItemID: k.item.ID, Quantity: 1}, {MenuItemID: id, Quantity: 1}}
	}
	missing := store.NewID()
	for _, c := range []struct {
		name  string
		req   ordering.Request
		code  apperr.Code
		field string
	}{
		{"unavailable item", ordering.Request{Items: line(soup.ID)}, apperr.Conflict, "items[1].menu_item_id"},
		{"unknown item", ordering.Request{Items: line(missing)}, apperr.NotFound, "items[1].menu_item_id"},
		{"another tenant's item", ordering.Request{Items: line(other.item.ID)}, apperr.NotFound, "items[1].menu_item_id"},
		{"malformed item id", ordering.Request{Items: line("not-an-id")}, apperr.NotFound, "items[1].menu_item_id"},
		{"unknown customer", ordering.Request{CustomerID: missing, Items: line(k.item.ID)}, apperr.NotFound, "customer_id"},
		{"unknown table", ordering.Request{OrderType: ordering.DineIn, TableID: missing, Items: line(k.item.ID)}, apperr.NotFound, "table_id"},
	} {
		_, err := order(c.req)
		var ae *apperr.Error
		if !errors.As(err, &ae) || ae.Code != c.code || ae.Field != c.field {
			t.Errorf("%s: got %v, want %s on %s", c.name, err, c.code, c.field)
		}
	}

	if _, err := store.Update(k.ctx, db, store.MenuItems, k.item.ID, func(v *menu.Item) error {
		v.PriceCents = 1350
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	next, err := order(ordering.Request{Items: []ordering.LineRequest{{MenuItemID: k.item.ID, Quantity: 2}}})
	if err != nil {
		t.Fatal(err)
	}
	if next.TotalAmountCents != 2700 || next.Items[0].UnitPriceCents != 1350 {
		t.Errorf("priced from the old menu: %+v", next)
	}
	if !strings.HasSuffix(first.Number, "001") || !strings.HasSuffix(next.Number, "002") {
		t.Errorf("numbers %s then %s, want …001 then …002", first.Number, next.Number)
	}
}
