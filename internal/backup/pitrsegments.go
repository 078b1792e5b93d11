package backup

import (
	"context"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/apperr"
	"github.com/shimizu-tech/ordersuite/internal/backup/changelog"
	"github.com/shimizu-tech/ordersuite/internal/store"
)

// ShippedLog reads a restaurant's changes from the change log segments
// shipped to storage, verified as a chain: what a point-in-time restore
// replays when the database no longer holds them.
type ShippedLog struct{ Verifier *changelog.Verifier }

// ShippedLog is the service's shipped change log, checked against the
// shipper's records when the database still has them.
func (s *Service) ShippedLog() ShippedLog {
	return ShippedLog{Verifier: &changelog.Verifier{Objects: s.ChangeObjects(), Recorded: s.recordedSegments}}
}

// recordedSegments are the checksums the shipper recorded, none when the
// database lost them (a fresh database).
func (s *Service) recordedSegments(ctx context.Context, restaurantID string) (map[int64]string, error) {
	segs, err := s.DB.Segments(ctx, restaurantID)
	if err != nil {
		return nil, err
	}
	out := make(map[int64]string, len(segs))
	for _, seg := range segs {
		out[seg.Number] = seg.SHA256
	}
	return out, nil
}

// Changes reads the verified chain. A moment beyond what it covers, or a
// chain broken before the moment, is refused naming `at` and the segment.
func (l ShippedLog) Changes(ctx context.Context, restaurantID string, from store.LogPosition, until time.Time, fn func(store.Change) error) error {
	err := l.Verifier.Covering(ctx, restaurantID, from, until, fn)
	if changelog.IsBroken(err) {
		return &apperr.Error{Code: apperr.OutOfRange, Field: "at", Message: "the shipped change log cannot be replayed: " + err.Error()}
	}
	return err
}

// RecoveryLog is where a point-in-time restore reads changes: the live
// database's log while the database holds the restaurant, the shipped
// segments when it does not — the restaurant was deleted (its log went
// with it) or the database was lost and this is a new one.
type RecoveryLog struct {
	DB      *store.DB
	Shipped ShippedLog
}

// RecoveryLog reads the live log, or the shipped one when the live one
// lacks the restaurant.
func (s *Service) RecoveryLog() RecoveryLog { return RecoveryLog{DB: s.DB, Shipped: s.ShippedLog()} }

func (l RecoveryLog) Changes(ctx context.Context, restaurantID string, from store.LogPosition, until time.Time, fn func(store.Change) error) error {
	_, err := l.DB.Restaurant(ctx, restaurantID)
	switch {
	case err == nil:
		return l.DB.ChangesSince(ctx, restaurantID, from, until, fn)
	case apperr.Is(err, apperr.NotFound):
		return l.Shipped.Changes(ctx, restaurantID, from, until, fn)
	}
	return err
}
