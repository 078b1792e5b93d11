package reservations_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/reservations"
)

func TestStatusMoves(t *testing.T) {
	for _, c := range []struct {
		from, to reservations.Status
		ok       bool
	}{{"booked", "seated", true}, {"booked", "cancelled", true}, {"seated", "completed", true},
		{"cancelled", "booked", false}, {"completed", "cancelled", false}, {"booked", "completed", false}} {
		if reservations.CanMove(c.from, c.to) != c.ok {
			t.Errorf("%s → %s: want %v", c.from, c.to, c.ok)
		}
	}
}

// FuzzReservationRequest: validation never panics, and what passes is a
// sane booking: a party within limits, in the future, ending after it starts.
func FuzzReservationRequest(f *testing.F) {
	f.Add([]byte(`{"name":"Sato","party_size":4,"starts_at":"2030-01-01T19:00:00Z"}`))
	f.Add([]byte(`{"name":"X","party_size":100000,"starts_at":"2030-01-01T19:00:00Z","ends_at":"2029-01-01T00:00:00Z"}`))
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		var r reservations.Request
		if json.Unmarshal(body, &r) != nil || r.Validate(now) != nil {
			return
		}
		if r.PartySize < 1 || r.PartySize > reservations.MaxPartySize || !r.EndsAt.After(r.StartsAt) ||
			r.EndsAt.Sub(r.StartsAt) > reservations.MaxDuration || r.StartsAt.Before(now.Add(-time.Minute)) {
			t.Fatalf("accepted %+v", r)
		}
	})
}
