package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
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

// HistoryDays is how far back the demo's order history goes.
const HistoryDays = 30

var demoMenu = []struct {
	category string
	items    []menu.ItemFields
}{
	{"Starters", []menu.ItemFields{
		{Name: "Edamame", Description: "Steamed soybeans, sea salt", PriceCents: 450},
		{Name: "Gyoza", Description: "Pan-fried pork dumplings (6)", PriceCents: 750},
		{Name: "Agedashi Tofu", Description: "Crisp tofu in dashi broth", PriceCents: 690},
		{Name: "Karaage", Description: "Japanese fried chicken, yuzu mayo", PriceCents: 890},
	}},
	{"Ramen", []menu.ItemFields{
		{Name: "Shoyu Ramen", Description: "Soy broth, chashu, egg, nori", PriceCents: 1450},
		{Name: "Miso Ramen", Description: "Hokkaido miso, corn, butter", PriceCents: 1520},
		{Name: "Tonkotsu Ramen", Description: "Pork bone broth, black garlic oil", PriceCents: 1590},
		{Name: "Vegan Tantanmen", Description: "Sesame broth, chili, greens", PriceCents: 1490},
	}},
	{"Sushi", []menu.ItemFields{
		{Name: "Salmon Nigiri (2)", PriceCents: 600},
		{Name: "Tuna Nigiri (2)", PriceCents: 680},
		{Name: "California Roll", Description: "Crab, avocado, cucumber", PriceCents: 980},
		{Name: "Dragon Roll", Description: "Eel, avocado, tobiko", PriceCents: 1650},
		{Name: "Chef's Omakase (12 pcs)", PriceCents: 4200},
	}},
	{"Drinks", []menu.ItemFields{
		{Name: "Green Tea", PriceCents: 300},
		{Name: "Yuzu Lemonade", PriceCents: 450},
		{Name: "Asahi Draft", PriceCents: 650},
		{Name: "Junmai Sake (180 ml)", PriceCents: 1100},
	}},
	{"Desserts", []menu.ItemFields{
		{Name: "Matcha Ice Cream", PriceCents: 550},
		{Name: "Mochi Trio", PriceCents: 650},
		{Name: "Dorayaki", Description: "Red bean pancake", PriceCents: 600},
	}},
}

var firstNames = []string{"Hana", "Kenji", "Yui", "Takumi", "Aiko", "Ren", "Sakura", "Daichi", "Mei", "Sota",
	"Emma", "Liam", "Olivia", "Noah", "Sofia", "Lucas", "Mia", "Mateo", "Chloe", "Leo"}
var lastNames = []string{"Sato", "Suzuki", "Takahashi", "Tanaka", "Watanabe", "Ito", "Yamamoto", "Nakamura",
	"Kobayashi", "Kato", "Martin", "Garcia", "Muller", "Rossi", "Dubois", "Silva"}

// seedDomain fills the demo restaurant with a menu, guests, tables, staff,
// a loyalty program, days of orders with payments, and reservations. It
// does nothing when the restaurant already has a menu, so re-running
// seed-demo never duplicates data.
func seedDomain(ctx context.Context, db *store.DB, days int) error {
	_, n, err := store.List(ctx, db, store.MenuCategories, store.ListQuery{Limit: 1})
	if err != nil || n > 0 {
		return err
	}
	now := db.Now()
	// Seeded from the store's clock, so a store with a fixed clock (the
	// tests' seeded template) gets the same restaurant every time.
	rng := rand.New(rand.NewPCG(uint64(now.UnixNano()), 7))
	start := now.AddDate(0, 0, -days).Truncate(24 * time.Hour)
	hist := func(t time.Time) *store.DB { return db.WithClock(func() time.Time { return t }) }

	var items []menu.Item
	for pos, c := range demoMenu {
		cat, err := store.Create(ctx, hist(start), store.MenuCategories, menu.Category{CategoryFields: menu.CategoryFields{Name: c.category, Position: pos}})
		if err != nil {
			return err
		}
		for _, f := range c.items {
			f.CategoryID, f.Available = cat.ID, true
			it, err := store.Create(ctx, hist(start), store.MenuItems, menu.Item{ItemFields: f})
			if err != nil {
				return err
			}
			items = append(items, it)
		}
	}
	var methods []payments.Method
	for _, m := range []payments.MethodFields{{Name: "Cash", Kind: "cash"}, {Name: "Card", Kind: "card"}, {Name: "Mobile wallet", Kind: "mobile"}} {
		m.Active = true
		pm, err := store.Create(ctx, hist(start), store.PaymentMethods, payments.Method{MethodFields: m})
		if err != nil {
			return err
		}
		methods = append(methods, pm)
	}
	for i, capacity := range []int{2, 2, 2, 4, 4, 4, 4, 6, 6, 8} {
		loc := "main room"
		if i >= 8 {
			loc = "tatami room"
		}
		if _, err := store.Create(ctx, hist(start), store.Tables, reservations.Table{TableFields: reservations.TableFields{
			Label: fmt.Sprintf("T%d", i+1), Capacity: capacity, Location: loc, Active: true}}); err != nil {
			return err
		}
	}
	for _, s := range []staff.Fields{{Name: "Haruto Mori", Position: "head chef"}, {Name: "Yuna Abe", Position: "sushi chef"},
		{Name: "Kaito Ishii", Position: "line cook"}, {Name: "Rin Fujita", Position: "server"}, {Name: "Anna Weber", Position: "server"},
		{Name: "Shun Ogawa", Position: "manager"}} {
		s.Active = true
		if _, err := store.Create(ctx, hist(start), store.StaffMembers, staff.Member{Fields: s}); err != nil {
			return err
		}
	}
	var guests []customers.Customer
	for i := range 40 {
		first, last := firstNames[i%len(firstNames)], lastNames[(i*7)%len(lastNames)]
		c, err := store.Create(ctx, hist(start), store.Customers, customers.Customer{Fields: customers.Fields{
			Name: first + " " + last, Email: fmt.Sprintf("%s.%s%d@example.com", strings.ToLower(first), strings.ToLower(last), i),
			Phone: fmt.Sprintf("+81 3 5555 %04d", 1000+i)}})
		if err != nil {
			return err
		}
		guests = append(guests, c)
	}
	prog, err := store.Create(ctx, hist(start), store.LoyaltyPrograms, loyalty.Program{ProgramFields: loyalty.ProgramFields{
		Name: "Shimizu Rewards", PointsPerUnit: 1, Active: true}})
	if err != nil {
		return err
	}
	for _, r := range []loyalty.RewardFields{{Name: "Free green tea", PointsCost: 30}, {Name: "Free dessert", PointsCost: 60},
		{Name: "Free ramen", PointsCost: 150}} {
		r.ProgramID, r.Active = prog.ID, true
		if _, err := store.Create(ctx, hist(start), store.LoyaltyRewards, loyalty.Reward{RewardFields: r}); err != nil {
			return err
		}
	}
	maxUses := 500
	if _, err := store.Create(ctx, hist(start), store.Promotions, ordering.Promotion{PromotionFields: ordering.PromotionFields{
		Code: "WELCOME10", Description: "10% off your order", DiscountType: ordering.Percent, DiscountValue: 10,
		MaxUses: &maxUses, Active: true}}); err != nil {
		return err
	}
	if _, err := store.Create(ctx, hist(start), store.SpecialEvents, reservations.SpecialEvent{EventFields: reservations.EventFields{
		Name: "Sake tasting night", Description: "Limited seating", Date: now.AddDate(0, 0, 9).Format(time.DateOnly), MaxGuests: ptr(24)}}); err != nil {
		return err
	}

	// Days of orders: busier at lunch and dinner and at weekends.
	var evs []store.TenantEvent
	rid, _ := tenancy.Tenant(ctx)
	for day := start; day.Before(now); day = day.AddDate(0, 0, 1) {
		count := 8 + rng.IntN(6)
		if wd := day.Weekday(); wd == time.Friday || wd == time.Saturday {
			count += 6
		}
		for range count {
			hour := 11 + rng.IntN(3)
			if rng.IntN(3) > 0 {
				hour = 17 + rng.IntN(5)
			}
			placed := day.Add(time.Duration(hour)*time.Hour + time.Duration(rng.IntN(60))*time.Minute)
			if placed.After(now) {
				continue
			}
			req := ordering.Request{OrderType: []ordering.Type{ordering.DineIn, ordering.Takeout, ordering.Delivery}[rng.IntN(3)]}
			if rng.IntN(10) < 7 {
				req.CustomerID = guests[rng.IntN(len(guests))].ID
			}
			if rng.IntN(15) == 0 {
				req.PromotionCode = "WELCOME10"
			}
			for range 1 + rng.IntN(4) {
				req.Items = append(req.Items, ordering.LineRequest{MenuItemID: items[rng.IntN(len(items))].ID, Quantity: 1 + rng.IntN(3)})
			}
			o, err := hist(placed).CreateOrder(ctx, req)
			if err != nil {
				return err
			}
			evs = append(evs, event(rid, "order_created", placed, map[string]any{"order_id": o.ID, "order_number": o.Number,
				"total_amount_cents": o.TotalAmountCents, "order_type": o.OrderType, "items": len(o.Items)}))
			// Orders of the last hour are still in the kitchen.
			age := now.Sub(placed)
			final := ordering.Completed
			switch r := rng.IntN(100); {
			case age < 20*time.Minute:
				final = ordering.Pending
			case age < 40*time.Minute:
				final = ordering.Preparing
			case age < time.Hour:
				final = ordering.Ready
			case r < 5:
				final = ordering.Cancelled
			}
			if final == ordering.Cancelled {
				if _, _, err := hist(placed.Add(5*time.Minute)).SetOrderStatus(ctx, o.ID, ordering.Cancelled); err != nil {
					return err
				}
				continue
			}
			if final != ordering.Pending && o.TotalAmountCents > 0 {
				m := methods[rng.IntN(len(methods))]
				paidAt := placed.Add(2 * time.Minute)
				if _, _, err := hist(paidAt).RecordPayment(ctx, payments.Request{OrderID: o.ID, PaymentMethodID: m.ID,
					AmountCents: o.TotalAmountCents}, payments.Offline{}); err != nil {
					return err
				}
				evs = append(evs, event(rid, "payment_processed", paidAt, map[string]any{"order_id": o.ID,
					"amount_cents": o.TotalAmountCents, "payment_method": m.Kind, "payment_method_id": m.ID}))
			}
			steps := map[ordering.Status][]ordering.Status{
				ordering.Preparing: {ordering.Preparing},
				ordering.Ready:     {ordering.Preparing, ordering.Ready},
				ordering.Completed: {ordering.Preparing, ordering.Ready, ordering.Completed},
			}[final]
			for i, s := range steps {
				if _, _, err := hist(placed.Add(time.Duration(10*(i+1))*time.Minute)).SetOrderStatus(ctx, o.ID, s); err != nil {
					return err
				}
			}
			if final == ordering.Completed && req.CustomerID != "" && rng.IntN(5) == 0 {
				if _, err := store.Create(ctx, hist(placed.Add(2*time.Hour)), store.Feedback, customers.Feedback{FeedbackFields: customers.FeedbackFields{
					CustomerID: req.CustomerID, OrderID: o.ID, Rating: 3 + rng.IntN(3),
					Comment: []string{"Lovely broth.", "Quick service!", "Will come back.", "A bit salty today.", ""}[rng.IntN(5)]}}); err != nil {
					return err
				}
			}
		}
	}
	if err := db.InsertEvents(ctx, evs); err != nil {
		return err
	}

	// Reservations: the past two weeks (seated and completed) and the next
	// two, or as many days as the history has when it is shorter.
	window := min(14, days)
	for d := -window; d <= window; d++ {
		day := now.Truncate(24*time.Hour).AddDate(0, 0, d)
		for range 2 + rng.IntN(3) {
			startAt := day.Add(time.Duration(18+rng.IntN(3)) * time.Hour)
			g := guests[rng.IntN(len(guests))]
			res, err := hist(startAt.Add(-72*time.Hour)).CreateReservation(ctx, reservations.Request{CustomerID: g.ID, Name: g.Name,
				Phone: g.Phone, PartySize: 1 + rng.IntN(6), StartsAt: startAt, EndsAt: startAt.Add(2 * time.Hour)})
			if apperr.Is(err, apperr.Conflict) {
				continue // the evening is full: a real restaurant would say so too
			}
			if err != nil {
				return err
			}
			if startAt.Add(2 * time.Hour).Before(now) {
				for _, s := range []reservations.Status{reservations.Seated, reservations.Completed} {
					if _, err := hist(startAt).SetReservationStatus(ctx, res.ID, s); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}

func ptr[T any](v T) *T { return &v }

func event(rid, typ string, at time.Time, data map[string]any) store.TenantEvent {
	b, _ := json.Marshal(data)
	return store.TenantEvent{RestaurantID: rid, ID: store.NewID(), Type: typ, Data: b, CreatedAt: at}
}
