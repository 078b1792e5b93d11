// Package staff owns the people who work at a restaurant.
package staff

import (
	"time"

	"github.com/shimizu-tech/ordersuite/internal/apperr"
	"github.com/shimizu-tech/ordersuite/internal/customers"
	"github.com/shimizu-tech/ordersuite/internal/menu"
)

// Fields are the writable fields of a staff member.
type Fields struct {
	UserID   string `json:"user_id,omitempty"`
	Name     string `json:"name"`
	Position string `json:"position"`
	Email    string `json:"email"`
	Phone    string `json:"phone"`
	Active   bool   `json:"active"`
}

// Member works at the restaurant; UserID links a login, when there is one.
type Member struct {
	ID string `json:"id"`
	Fields
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// NewFields are the defaults of a new member: active.
func NewFields() Fields { return Fields{Active: true} }

// Validate checks a member's fields.
func (f Fields) Validate() error {
	if err := menu.Text("name", f.Name, 1, 200); err != nil {
		return err
	}
	if err := menu.Text("position", f.Position, 1, 100); err != nil {
		return err
	}
	if f.Email != "" {
		if err := (customers.Fields{Name: f.Name, Email: f.Email}).Validate(); err != nil {
			return err
		}
	}
	if len(f.Email) > 254 {
		return apperr.InvalidField("email", "must be at most 254 characters")
	}
	return customers.ValidatePhoneNotes(f.Phone, "")
}
