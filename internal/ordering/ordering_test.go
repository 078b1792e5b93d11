package ordering_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/apperr"
	"github.com/shimizu-tech/ordersuite/internal/menu"
	"github.com/shimizu-tech/ordersuite/internal/ordering"
)

func TestTransitions(t *testing.T) {
	allowed := map[[2]ordering.Status]bool{
		{"pending", "preparing"}: true, {"pending", "cancelled"}: true,
		{"preparing", "ready"}: true, {"preparing", "cancelled"}: true,
		{"ready", "completed"}: true, {"ready", "cancelled"}: true,
	}
	for _, from := range ordering.Statuses {
		for _, to := range ordering.Statuses {
			err := ordering.CheckTransition(from, to)
			if allowed[[2]ordering.Status{from, to}] != (err == nil) {
				t.Errorf("%s → %s: %v", from, to, err)
			}
			if to == ordering.Refunded && !apperr.Is(err, apperr.Invalid) {
				t.Errorf("%s → refunded by hand: %v, want invalid", from, err)
			}
		}
	}
}

func TestNumber(t *testing.T) {
	day := time.Date(2026, 11, 23, 23, 59, 0, 0, time.UTC)
	for seq, want := range map[int]string{1: "AS-O-261123001", 42: "AS-O-261123042", 1234: "AS-O-2611231234"} {
		if got := ordering.Number("AS", "O", day, seq); got != want {
			t.Errorf("Number(%d) = %s, want %s", seq, got, want)
		}
	}
}

func TestDiscount(t *testing.T) {
	now := time.Now()
	three := 3
	cases := []struct {
		p        ordering.PromotionFields
		uses     int
		subtotal int64
		want     int64
		code     apperr.Code
	}{
		{ordering.PromotionFields{DiscountType: ordering.Percent, DiscountValue: 15, Active: true}, 0, 1999, 299, ""},
		{ordering.PromotionFields{DiscountType: ordering.Fixed, DiscountValue: 500, Active: true}, 0, 300, 300, ""},
		{ordering.PromotionFields{DiscountType: ordering.Fixed, DiscountValue: 500, Active: false}, 0, 3000, 0, apperr.Invalid},
		{ordering.PromotionFields{DiscountType: ordering.Fixed, DiscountValue: 500, Active: true, MaxUses: &three}, 3, 3000, 0, apperr.Conflict},
		{ordering.PromotionFields{DiscountType: ordering.Fixed, DiscountValue: 500, Active: true, MinOrderCents: 5000}, 0, 3000, 0, apperr.Invalid},
	}
	for i, c := range cases {
		got, err := ordering.Promotion{PromotionFields: c.p, Uses: c.uses}.Discount(c.subtotal, now)
		if c.code != "" {
			if !apperr.Is(err, c.code) {
				t.Errorf("case %d: %v, want %s", i, err, c.code)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("case %d: %d %v, want %d", i, got, err, c.want)
		}
	}
}

// FuzzOrderRequest: whatever a client sends, decoding and validation never
// panic, and a request that passes is priced with a total that is the sum
// of its lines less a discount, never negative.
func FuzzOrderRequest(f *testing.F) {
	f.Add([]byte(`{"order_type":"takeout","items":[{"menu_item_id":"a","quantity":2}]}`))
	f.Add([]byte(`{"items":[{"menu_item_id":"a","quantity":-1}]}`))
	f.Add([]byte(`{"items":[{"menu_item_id":"b","quantity":100},{"menu_item_id":"a","quantity":1}],"promotion_code":" x "}`))
	items := map[string]menu.Item{
		"a": {ID: "a", ItemFields: menu.ItemFields{Name: "A", PriceCents: menu.MaxPriceCents, Available: true}},
		"b": {ID: "b", ItemFields: menu.ItemFields{Name: "B", PriceCents: 1, Available: true}},
	}
	promo := &ordering.Promotion{PromotionFields: ordering.PromotionFields{DiscountType: ordering.Percent, DiscountValue: 100, Active: true}}
	f.Fuzz(func(t *testing.T, body []byte) {
		var req ordering.Request
		if json.Unmarshal(body, &req) != nil || req.Validate() != nil {
			return
		}
		for _, p := range []*ordering.Promotion{nil, promo} {
			o, err := ordering.Price(req, items, p, time.Now())
			if err != nil {
				continue
			}
			var sum int64
			for _, l := range o.Items {
				if l.Quantity < 1 || l.Quantity > ordering.MaxQuantity || l.LineTotalCents != l.UnitPriceCents*int64(l.Quantity) {
					t.Fatalf("bad line %+v", l)
				}
				sum += l.LineTotalCents
			}
			if o.SubtotalCents != sum || o.TotalAmountCents != sum-o.DiscountCents || o.TotalAmountCents < 0 || o.DiscountCents < 0 {
				t.Fatalf("bad totals %+v", o)
			}
		}
	})
}
