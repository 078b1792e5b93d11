package backup

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/backup/changelog"
	"github.com/shimizu-tech/ordersuite/internal/store"
)

// RecoveryChain is a restaurant's full backups and change log segments
// together: the moments it can be restored to.
type RecoveryChain struct {
	RestaurantID string `json:"restaurant_id"`
	// Segments counts the change log segments kept; FirstSegment and
	// LastSegment are their numbers.
	Segments     int   `json:"segments"`
	FirstSegment int64 `json:"first_segment"`
	LastSegment  int64 `json:"last_segment"`
	// Earliest is the first moment a restore can reach: just after the
	// oldest own backup the segments serve (to the second; zero when there
	// is none). Latest is the last: how far the log is shipped.
	Earliest *time.Time `json:"earliest,omitempty"`
	Latest   time.Time  `json:"latest"`
	// RPOSeconds is how old Latest is: what losing the database now would
	// lose of this restaurant, at most.
	RPOSeconds float64 `json:"rpo_seconds"`
}

// Chains summarises the recovery chain of every restaurant with shipped
// segments (of one when restaurantID is set), from the shipper's records.
func (s *Service) Chains(ctx context.Context, restaurantID string, backups []Backup) ([]RecoveryChain, error) {
	segs, err := s.DB.Segments(ctx, restaurantID)
	if err != nil {
		return nil, err
	}
	state, err := s.DB.ChangeShipState(ctx)
	if err != nil {
		return nil, err
	}
	oldest := map[string]time.Time{}
	for _, b := range Own(backups) {
		if o, ok := oldest[b.RestaurantID]; !ok || b.CreatedAt.Before(o) {
			oldest[b.RestaurantID] = b.CreatedAt
		}
	}
	now := s.DB.Now()
	byID := map[string]*RecoveryChain{}
	var out []*RecoveryChain
	for _, seg := range segs {
		c := byID[seg.RestaurantID]
		if c == nil {
			c = &RecoveryChain{RestaurantID: seg.RestaurantID, FirstSegment: seg.Number}
			byID[seg.RestaurantID] = c
			out = append(out, c)
			if o, ok := oldest[seg.RestaurantID]; ok && (seg.Number == 1 || !seg.CoversFrom.After(o)) {
				// The base's snapshot follows its name's second.
				e := o.Add(time.Second)
				c.Earliest = &e
			}
		}
		c.Segments++
		c.LastSegment = seg.Number
		c.Latest = seg.CoversTo
	}
	res := make([]RecoveryChain, 0, len(out))
	for _, c := range out {
		if state.Cut.At.After(c.Latest) {
			c.Latest = state.Cut.At
		}
		c.RPOSeconds = now.Sub(c.Latest).Seconds()
		res = append(res, *c)
	}
	sort.Slice(res, func(i, j int) bool { return res[i].RestaurantID < res[j].RestaurantID })
	return res, nil
}

// PruneSegments deletes the change log segments the backups kept no longer
// need: those holding only changes the oldest kept own backup of their
// restaurant already has, and covering up to before it — from storage
// first, then from the records. (PruneLogs does the same for the live log.)
func (s *Service) PruneSegments(ctx context.Context) (segments int, err error) {
	all, err := s.List(ctx, "")
	if err != nil {
		return 0, err
	}
	oldest := map[string]Backup{}
	for _, b := range Own(all) {
		if o, ok := oldest[b.RestaurantID]; !ok || b.CreatedAt.Before(o.CreatedAt) {
			oldest[b.RestaurantID] = b
		}
	}
	objs := s.ChangeObjects()
	var errs []error
	for rid, b := range oldest {
		pos, err := s.logPosition(ctx, b)
		if err != nil || pos == nil {
			// An archive without a log position serves no restore to a
			// moment: keep the segments until one that does is the oldest.
			continue
		}
		segs, err := s.DB.Segments(ctx, rid)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		var upTo int64
		for _, seg := range segs {
			if !segmentHeld(seg, *pos) || !seg.CoversTo.Before(b.CreatedAt) {
				break
			}
			if err := objs.DeleteSegment(ctx, rid, seg.Number); err != nil {
				errs = append(errs, fmt.Errorf("segment %d of %s: %w", seg.Number, rid, err))
				break
			}
			upTo = seg.Number
			segments++
		}
		if upTo > 0 {
			if err := s.DB.ForgetSegments(ctx, rid, upTo); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return segments, errors.Join(errs...)
}

// segmentHeld says whether a base at pos holds every change of a segment
// and of those before it.
func segmentHeld(seg store.ShippedSegment, pos store.LogPosition) bool {
	switch pos.Engine {
	case store.SQLite:
		return seg.MaxSeq <= pos.Seq
	case store.Postgres:
		snap, err := changelog.ParseSnapshot(pos.Snapshot)
		if err != nil || seg.MaxTx == "" {
			return false
		}
		var maxTx uint64
		if _, err := fmt.Sscan(seg.MaxTx, &maxTx); err != nil {
			return false
		}
		return maxTx < snap.Xmin
	}
	return false
}
