// Package reservations owns the dining room: tables, special events that
// close a date or cap its guests, and reservations that hold a table for a
// party without ever booking one table twice.
package reservations

import (
	"time"

	"github.com/shimizu-tech/ordersuite/internal/apperr"
	"github.com/shimizu-tech/ordersuite/internal/customers"
	"github.com/shimizu-tech/ordersuite/internal/menu"
)

// MaxPartySize is the largest party one reservation may hold.
const MaxPartySize = 100

// MaxDuration is the longest a reservation may hold a table.
const MaxDuration = 12 * time.Hour

// DefaultDuration is how long a table is held when no end is given.
const DefaultDuration = 2 * time.Hour

// TableFields are the writable fields of a table.
type TableFields struct {
	Label    string `json:"label"`
	Capacity int    `json:"capacity"`
	Location string `json:"location"`
	Active   bool   `json:"active"`
}

// Table is a table in the dining room.
type Table struct {
	ID string `json:"id"`
	TableFields
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// NewTableFields are the defaults of a new table.
func NewTableFields() TableFields { return TableFields{Active: true} }

// Validate checks a table.
func (f TableFields) Validate() error {
	if err := menu.Text("label", f.Label, 1, 50); err != nil {
		return err
	}
	if f.Capacity < 1 || f.Capacity > MaxPartySize {
		return apperr.InvalidField("capacity", "must be from 1 to %d", MaxPartySize)
	}
	return menu.Text("location", f.Location, 0, 100)
}

// EventFields are the writable fields of a special event.
type EventFields struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	// Date is the day (YYYY-MM-DD, restaurant days are UTC days).
	Date string `json:"date"`
	// Closed closes the date to reservations.
	Closed bool `json:"closed"`
	// MaxGuests, when set, caps the guests of all reservations that day.
	MaxGuests *int `json:"max_guests"`
}

// SpecialEvent changes what a date accepts.
type SpecialEvent struct {
	ID string `json:"id"`
	EventFields
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Validate checks a special event.
func (f EventFields) Validate() error {
	if err := menu.Text("name", f.Name, 1, 200); err != nil {
		return err
	}
	if err := menu.Text("description", f.Description, 0, 2000); err != nil {
		return err
	}
	if _, err := time.Parse(time.DateOnly, f.Date); err != nil {
		return apperr.InvalidField("date", "must be a date YYYY-MM-DD")
	}
	if f.MaxGuests != nil && (*f.MaxGuests < 0 || *f.MaxGuests > 100000) {
		return apperr.InvalidField("max_guests", "must be from 0 to 100000")
	}
	return nil
}

// Status is where a reservation stands.
type Status string

const (
	Booked    Status = "booked"
	Seated    Status = "seated"
	Completed Status = "completed"
	Cancelled Status = "cancelled"
	NoShow    Status = "no_show"
)

var transitions = map[Status][]Status{
	Booked: {Seated, Cancelled, NoShow},
	Seated: {Completed},
}

// CanMove reports whether a reservation may go from one status to another.
func CanMove(from, to Status) bool {
	for _, s := range transitions[from] {
		if s == to {
			return true
		}
	}
	return false
}

// Holds reports whether a reservation in status s keeps its table.
func (s Status) Holds() bool { return s == Booked || s == Seated }

// Request is what a guest or the staff ask for. TableID empty lets the
// restaurant choose the smallest free table that fits.
type Request struct {
	CustomerID string    `json:"customer_id,omitempty"`
	TableID    string    `json:"table_id,omitempty"`
	Name       string    `json:"name"`
	Phone      string    `json:"phone"`
	PartySize  int       `json:"party_size"`
	StartsAt   time.Time `json:"starts_at"`
	EndsAt     time.Time `json:"ends_at"`
	Notes      string    `json:"notes"`
}

// Validate checks a request at time now and fills the default end.
func (r *Request) Validate(now time.Time) error {
	if err := menu.Text("name", r.Name, 1, 200); err != nil {
		return err
	}
	if err := customers.ValidatePhoneNotes(r.Phone, r.Notes); err != nil {
		return err
	}
	if r.PartySize < 1 || r.PartySize > MaxPartySize {
		return apperr.InvalidField("party_size", "must be from 1 to %d", MaxPartySize)
	}
	if r.StartsAt.IsZero() {
		return apperr.InvalidField("starts_at", "is required")
	}
	r.StartsAt = r.StartsAt.UTC().Truncate(time.Microsecond)
	if r.StartsAt.Before(now.Add(-time.Minute)) {
		return apperr.InvalidField("starts_at", "must not be in the past")
	}
	if r.StartsAt.After(now.AddDate(2, 0, 0)) {
		return apperr.InvalidField("starts_at", "must be within two years")
	}
	if r.EndsAt.IsZero() {
		r.EndsAt = r.StartsAt.Add(DefaultDuration)
	}
	r.EndsAt = r.EndsAt.UTC().Truncate(time.Microsecond)
	if !r.EndsAt.After(r.StartsAt) || r.EndsAt.Sub(r.StartsAt) > MaxDuration {
		return apperr.InvalidField("ends_at", "must be after starts_at and at most %s later", MaxDuration)
	}
	return nil
}

// Reservation holds a table for a party.
type Reservation struct {
	ID         string    `json:"id"`
	Number     string    `json:"number"`
	CustomerID string    `json:"customer_id,omitempty"`
	TableID    string    `json:"table_id"`
	Name       string    `json:"name"`
	Phone      string    `json:"phone"`
	PartySize  int       `json:"party_size"`
	StartsAt   time.Time `json:"starts_at"`
	EndsAt     time.Time `json:"ends_at"`
	Status     Status    `json:"status"`
	Notes      string    `json:"notes"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// Day is the date a reservation counts against (its start, UTC).
func Day(t time.Time) string { return t.UTC().Format(time.DateOnly) }
