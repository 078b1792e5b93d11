// Package menu owns what a restaurant sells: categories and the items in
// them, with their prices in integer cents.
package menu

import (
	"strings"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/apperr"
)

// MaxPriceCents bounds a menu price (100 000.00) so totals cannot overflow.
const MaxPriceCents = 10_000_000

// CategoryFields are the writable fields of a category.
type CategoryFields struct {
	Name     string `json:"name"`
	Position int    `json:"position"`
}

// Category groups menu items.
type Category struct {
	ID string `json:"id"`
	CategoryFields
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Validate checks a category's fields.
func (f CategoryFields) Validate() error {
	if err := Text("name", f.Name, 1, 100); err != nil {
		return err
	}
	if f.Position < 0 || f.Position > 10000 {
		return apperr.InvalidField("position", "must be from 0 to 10000")
	}
	return nil
}

// ItemFields are the writable fields of a menu item.
type ItemFields struct {
	CategoryID  string `json:"category_id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	PriceCents  int64  `json:"price_cents"`
	Available   bool   `json:"available"`
}

// Item is something on the menu.
type Item struct {
	ID string `json:"id"`
	ItemFields
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// NewItemFields are the defaults of a new item: available.
func NewItemFields() ItemFields { return ItemFields{Available: true} }

// Validate checks an item's fields.
func (f ItemFields) Validate() error {
	if strings.TrimSpace(f.CategoryID) == "" {
		return apperr.InvalidField("category_id", "is required")
	}
	if err := Text("name", f.Name, 1, 200); err != nil {
		return err
	}
	if err := Text("description", f.Description, 0, 2000); err != nil {
		return err
	}
	if f.PriceCents < 0 || f.PriceCents > MaxPriceCents {
		return apperr.InvalidField("price_cents", "must be from 0 to %d", MaxPriceCents)
	}
	return nil
}

// Text checks a text field's length in characters; min 1 means required.
func Text(field, v string, min, max int) error {
	n := len([]rune(v))
	if min > 0 && strings.TrimSpace(v) == "" {
		return apperr.InvalidField(field, "is required")
	}
	if n > max {
		return apperr.InvalidField(field, "must be at most %d characters", max)
	}
	return nil
}
