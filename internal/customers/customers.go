// Package customers owns the restaurant's guests and what they tell it:
// customer records and their feedback.
package customers

import (
	"regexp"
	"strings"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/apperr"
	"github.com/shimizu-tech/ordersuite/internal/menu"
)

// Fields are the writable fields of a customer.
type Fields struct {
	Name  string `json:"name"`
	Email string `json:"email"`
	Phone string `json:"phone"`
	Notes string `json:"notes"`
}

// Customer is a guest of the restaurant. UserID links the customer to a
// login of role customer, when the guest has one.
type Customer struct {
	ID     string `json:"id"`
	UserID string `json:"user_id,omitempty"`
	Fields
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

var emailPattern = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)
var phonePattern = regexp.MustCompile(`^[0-9+() .-]{3,32}$`)

// Validate checks a customer's fields.
func (f Fields) Validate() error {
	if err := menu.Text("name", f.Name, 1, 200); err != nil {
		return err
	}
	if f.Email != "" && (len(f.Email) > 254 || !emailPattern.MatchString(f.Email)) {
		return apperr.InvalidField("email", "must be an e-mail address")
	}
	return ValidatePhoneNotes(f.Phone, f.Notes)
}

// ValidatePhoneNotes checks the optional phone and notes fields models share.
func ValidatePhoneNotes(phone, notes string) error {
	if phone != "" && !phonePattern.MatchString(phone) {
		return apperr.InvalidField("phone", "must be a phone number")
	}
	return menu.Text("notes", notes, 0, 2000)
}

// Normalize tidies the fields before they are stored.
func (f *Fields) Normalize() {
	f.Name, f.Email, f.Phone = strings.TrimSpace(f.Name), strings.ToLower(strings.TrimSpace(f.Email)), strings.TrimSpace(f.Phone)
}

// FeedbackFields are what a guest writes.
type FeedbackFields struct {
	CustomerID string `json:"customer_id,omitempty"`
	OrderID    string `json:"order_id,omitempty"`
	Rating     int    `json:"rating"`
	Comment    string `json:"comment"`
}

// Feedback is a rating with an optional comment and order.
type Feedback struct {
	ID string `json:"id"`
	FeedbackFields
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Validate checks feedback.
func (f FeedbackFields) Validate() error {
	if f.Rating < 1 || f.Rating > 5 {
		return apperr.InvalidField("rating", "must be from 1 to 5")
	}
	return menu.Text("comment", f.Comment, 0, 5000)
}
