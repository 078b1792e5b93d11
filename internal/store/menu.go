package store

import (
	"reflect"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/menu"
)

// MenuCategories are the tenant's menu categories.
var MenuCategories = &Entity[menu.Category]{
	table: "menu_categories", what: "menu category", resource: "menu_category",
	columns: []string{"id", "name", "position", "created_at", "updated_at"},
	scan: func(sc scanner) (menu.Category, error) {
		var v menu.Category
		err := sc.Scan(&v.ID, &v.Name, &v.Position, &v.CreatedAt, &v.UpdatedAt)
		utc(&v.CreatedAt, &v.UpdatedAt)
		return v, err
	},
	values: func(v *menu.Category) []any { return []any{v.ID, v.Name, v.Position, v.CreatedAt, v.UpdatedAt} },
	id:     func(v *menu.Category) string { return v.ID },
	touch: func(v *menu.Category, now time.Time, creating bool) {
		stamp(&v.ID, &v.CreatedAt, &v.UpdatedAt, now, creating)
	},
	order:  "position, name, id",
	filter: reflect.TypeFor[MenuCategoryFilter](),
}

// MenuItems are the tenant's menu items.
var MenuItems = &Entity[menu.Item]{
	table: "menu_items", what: "menu item", resource: "menu_item",
	columns: []string{"id", "category_id", "name", "description", "price_cents", "available", "created_at", "updated_at"},
	scan: func(sc scanner) (menu.Item, error) {
		var v menu.Item
		err := sc.Scan(&v.ID, &v.CategoryID, &v.Name, &v.Description, &v.PriceCents, &v.Available, &v.CreatedAt, &v.UpdatedAt)
		utc(&v.CreatedAt, &v.UpdatedAt)
		return v, err
	},
	values: func(v *menu.Item) []any {
		return []any{v.ID, v.CategoryID, v.Name, v.Description, v.PriceCents, v.Available, v.CreatedAt, v.UpdatedAt}
	},
	id: func(v *menu.Item) string { return v.ID },
	touch: func(v *menu.Item, now time.Time, creating bool) {
		stamp(&v.ID, &v.CreatedAt, &v.UpdatedAt, now, creating)
	},
	refs: func(v *menu.Item) []ref {
		return []ref{{field: "category_id", table: "menu_categories", what: "menu category", id: v.CategoryID}}
	},
	order:  "name, id",
	filter: reflect.TypeFor[MenuItemFilter](),
}
