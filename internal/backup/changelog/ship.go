package changelog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/store"
)

// shipLockKey is the PostgreSQL advisory lock that lets one instance ship
// at a time ("changelg" in ASCII).
const shipLockKey int64 = 0x6368616e67656c67

// DefaultInterval is how often the log is shipped unless configured.
const DefaultInterval = 10 * time.Second

// Shipper cuts each restaurant's new changes into segments and stores
// them, on one instance at a time.
//
// One instance: a session advisory lock taken for each run, like event
// retention's, rather than a periodic job on the queue's leader. A run
// every few seconds as a job would write a job record (kept for the status
// API) every few seconds, and a queue that is busy with a long restore
// would delay shipping behind it; the lock costs one statement a run, and
// when the instance holding it dies its session and lock die with it, so
// the next run of any other instance ships.
type Shipper struct {
	DB      *store.DB
	Objects Objects
	Log     *slog.Logger
	// MaxChanges bounds a segment (default MaxSegmentChanges).
	MaxChanges int
	// OnShipped, when set, is told the state after every run that shipped
	// everything complete (RPO metric).
	OnShipped func(store.ShipState)
	// beforeRecord, in tests, runs between storing a segment and recording it.
	beforeRecord func(store.ShippedSegment) error
}

func (s *Shipper) log() *slog.Logger {
	if s.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Log
}

// Shipped is what one run shipped.
type Shipped struct {
	Segments []store.ShippedSegment
	Cut      store.LogCut
}

// Ship runs once: for every restaurant with changes complete since the last
// run, it stores the next segments, then records them. It returns
// store.ErrLockHeld when another instance is shipping.
func (s *Shipper) Ship(ctx context.Context) (Shipped, error) {
	var out Shipped
	err := s.DB.WithInstanceLock(ctx, shipLockKey, func(ctx context.Context) error {
		var err error
		out, err = s.ship(ctx)
		return err
	})
	return out, err
}

func (s *Shipper) ship(ctx context.Context) (Shipped, error) {
	out := Shipped{}
	state, err := s.DB.ChangeShipState(ctx)
	if err != nil {
		return out, err
	}
	// The cut is read before anything of the log.
	cut, err := s.DB.ChangeLogCut(ctx)
	if err != nil {
		return out, err
	}
	// A transaction that started before the last cut but wrote its first
	// change after it moves the cut back; what the last run shipped is
	// still complete (that transaction's changes are all later than it).
	if cut.At.Before(state.Cut.At) {
		cut.At = state.Cut.At
	}
	cut.Seq = max(cut.Seq, state.Cut.Seq)
	out.Cut = cut
	changed, err := s.DB.ChangedRestaurants(ctx, state.Cut)
	if err != nil {
		return out, err
	}
	pending, err := s.DB.PendingSegments(ctx)
	if err != nil {
		return out, err
	}
	seen := map[string]bool{}
	var errs []error
	for _, rid := range append(changed, pending...) {
		if seen[rid] {
			continue
		}
		seen[rid] = true
		segs, err := s.shipRestaurant(ctx, rid, cut)
		out.Segments = append(out.Segments, segs...)
		if err != nil {
			errs = append(errs, fmt.Errorf("restaurant %s: %w", rid, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		// The cursor stays: the next run looks at these restaurants again.
		return out, err
	}
	st := store.ShipState{Cut: cut, ShippedAt: s.DB.Now()}
	if err := s.DB.SetChangeShipState(ctx, st); err != nil {
		return out, err
	}
	mark, err := json.Marshal(ShipMark{Engine: s.DB.Engine, Cut: cut.At.UTC(), ShippedAt: st.ShippedAt})
	if err != nil {
		return out, err
	}
	if err := s.Objects.PutShipMark(ctx, mark); err != nil {
		return out, fmt.Errorf("store the ship mark: %w", err)
	}
	if s.OnShipped != nil {
		s.OnShipped(st)
	}
	return out, nil
}

// shipRestaurant ships one restaurant's complete changes up to cut, in as
// many segments as the size bound needs (at most a few per run, so one busy
// restaurant does not hold back the others; the rest is pending).
func (s *Shipper) shipRestaurant(ctx context.Context, rid string, cut store.LogCut) ([]store.ShippedSegment, error) {
	limit := s.MaxChanges
	if limit <= 0 {
		limit = MaxSegmentChanges
	}
	var out []store.ShippedSegment
	for range 4 {
		last, ok, err := s.DB.LastSegment(ctx, rid)
		if err != nil {
			return out, err
		}
		from := store.ShipFrom{To: last.CoversTo, Floor: last.Floor, Seq: last.MaxSeq}
		if !cut.At.After(from.To) {
			return out, nil
		}
		batch, err := s.DB.ShippableChanges(ctx, rid, from, cut, limit)
		if err != nil {
			return out, err
		}
		if len(batch.Changes) == 0 {
			return out, nil
		}
		seg := store.ShippedSegment{RestaurantID: rid, Number: last.Number + 1, CoversFrom: last.CoversTo, CoversTo: batch.To.UTC(),
			Floor: last.Floor, MaxTx: last.MaxTx, MaxSeq: last.MaxSeq, Changes: len(batch.Changes), ShippedAt: s.DB.Now(), More: batch.More}
		if !batch.More && s.DB.Engine == store.Postgres {
			seg.Floor = batch.Floor
		}
		h := Header{Engine: s.DB.Engine, RestaurantID: rid, Number: seg.Number, From: last.CoversTo, To: seg.CoversTo,
			PrevMaxTx: last.MaxTx, PrevLastSeq: last.MaxSeq}
		if ok {
			h.Prev = last.SHA256
		}
		var minTx, maxTx uint64
		for i, c := range batch.Changes {
			tx, err := strconv.ParseUint(c.Tx, 10, 64)
			if err != nil {
				return out, fmt.Errorf("change %d: transaction id %q is not a number", c.Seq, c.Tx)
			}
			if i == 0 || tx < minTx {
				minTx = tx
			}
			maxTx = max(maxTx, tx)
			seg.MaxSeq = max(seg.MaxSeq, c.Seq)
		}
		seg.MaxSeq = max(seg.MaxSeq, batch.Seq)
		h.MinTx, h.MaxTx = strconv.FormatUint(minTx, 10), strconv.FormatUint(maxTx, 10)
		if prev, err := strconv.ParseUint(last.MaxTx, 10, 64); err != nil || maxTx > prev {
			seg.MaxTx = h.MaxTx
		}
		data, err := Encode(h, batch.Changes)
		if err != nil {
			return out, err
		}
		seg.FirstSeq, seg.LastSeq = batch.Changes[0].Seq, batch.Changes[len(batch.Changes)-1].Seq
		seg.SHA256, seg.Size = Sum(data), int64(len(data))
		// Stored first, recorded second: a crash between ships the same
		// number again, over the same name.
		if err := s.Objects.PutSegment(ctx, rid, seg.Number, data); err != nil {
			return out, fmt.Errorf("store segment %d: %w", seg.Number, err)
		}
		if s.beforeRecord != nil {
			if err := s.beforeRecord(seg); err != nil {
				return out, err
			}
		}
		if err := s.DB.RecordSegment(ctx, seg); err != nil {
			return out, err
		}
		s.log().DebugContext(ctx, "change segment shipped", "restaurant_id", rid, "number", seg.Number, "changes", seg.Changes, "bytes", seg.Size)
		out = append(out, seg)
		if !batch.More {
			return out, nil
		}
	}
	return out, nil
}

// Run ships every interval until ctx ends.
func (s *Shipper) Run(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = DefaultInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		res, err := s.Ship(ctx)
		switch {
		case errors.Is(err, store.ErrLockHeld):
			s.log().Debug("change log: another instance is shipping")
		case err != nil && ctx.Err() == nil:
			s.log().Error("change log shipping", "err", err)
		case len(res.Segments) > 0:
			s.log().Info("change log shipped", "segments", len(res.Segments))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
