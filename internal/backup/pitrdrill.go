package backup

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/backup/changelog"
	"github.com/shimizu-tech/ordersuite/internal/store"
)

// PointInTimeDrill is the outcome of a point-in-time recovery drill.
type PointInTimeDrill struct {
	RestaurantID string `json:"restaurant_id"`
	// RPOSeconds is the age of the newest shipped change of the
	// installation when the drill started: what losing the database then
	// would have lost; -1 when nothing was shipped yet.
	RPOSeconds float64         `json:"rpo_seconds"`
	Moments    []DrilledMoment `json:"moments"`
}

// DrilledMoment is one moment the drill recorded and restored.
type DrilledMoment struct {
	At time.Time `json:"at"`
	// BackupID is the base the restore replayed the shipped log on.
	BackupID string `json:"backup_id"`
	Changes  int64  `json:"changes"`
	// RTOSeconds is how long the restore from the chain took.
	RTOSeconds  float64  `json:"rto_seconds"`
	Differences []string `json:"differences"`
}

// OK says whether every moment was restored identically.
func (d PointInTimeDrill) OK() bool {
	for _, m := range d.Moments {
		if len(m.Differences) > 0 {
			return false
		}
	}
	return len(d.Moments) > 0
}

// DrillPointInTime records a restaurant's rows (a digest per table) at
// moments random moments within duration, waits until the shipped change
// log covers them (shipping itself when no other instance does), restores
// each from the chain — its base backup and the shipped segments, not the
// live log — into a scratch restaurant, compares, and deletes the scratch
// restaurants.
//
// A digest is read just after its moment: a write landing between the two
// shows as a difference, so drill a restaurant at a moment its writes are
// not continuous, or read a difference against the traffic.
func (s *Service) DrillPointInTime(ctx context.Context, restaurantID string, moments int, duration time.Duration, progress Progress) (PointInTimeDrill, error) {
	rep := PointInTimeDrill{RestaurantID: restaurantID, Moments: []DrilledMoment{}}
	if moments < 1 {
		return rep, fmt.Errorf("backup: a drill needs at least one moment")
	}
	r, err := s.DB.Restaurant(ctx, restaurantID)
	if err != nil {
		return rep, err
	}
	start := s.DB.Now()
	shipper := &changelog.Shipper{DB: s.DB, Objects: s.ChangeObjects(), Log: s.Log}
	rep.RPOSeconds = -1
	if latest, err := s.shippedThrough(ctx, restaurantID); err == nil && !latest.IsZero() {
		rep.RPOSeconds = start.Sub(latest).Seconds()
	}
	// The moments, at random offsets within duration.
	offsets := make([]time.Duration, moments)
	for i := range offsets {
		offsets[i] = time.Duration(rand.Int64N(int64(max(duration, time.Millisecond))))
	}
	slices.Sort(offsets)
	type recorded struct {
		at     time.Time
		digest map[string]string
	}
	var recs []recorded
	began := time.Now()
	for i, off := range offsets {
		if wait := time.Until(began.Add(off)); wait > 0 {
			select {
			case <-ctx.Done():
				return rep, ctx.Err()
			case <-time.After(wait):
			}
		}
		at := s.DB.Now()
		d, err := s.digest(ctx, restaurantID)
		if err != nil {
			return rep, err
		}
		recs = append(recs, recorded{at: at, digest: d})
		progress.report(40*(i+1)/moments, "recorded moment %d of %d (%s)", i+1, moments, at.Format(time.RFC3339Nano))
	}
	// Wait for the shipped log to cover the last moment.
	last := recs[len(recs)-1].at
	deadline := time.Now().Add(2*time.Minute + duration)
	for {
		_, err := shipper.Ship(ctx)
		if err != nil && !errors.Is(err, store.ErrLockHeld) {
			return rep, err
		}
		latest, err := s.shippedThrough(ctx, restaurantID)
		if err != nil {
			return rep, err
		}
		if !latest.Before(last) {
			break
		}
		if time.Now().After(deadline) {
			return rep, fmt.Errorf("backup: the shipped change log did not reach %s within %s (is it shipped?)", last.Format(time.RFC3339Nano), 2*time.Minute+duration)
		}
		progress.report(45, "waiting for the change log to be shipped past %s", last.Format(time.RFC3339Nano))
		select {
		case <-ctx.Done():
			return rep, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
	fromChain := &Service{DB: s.DB, Storage: s.Storage, AppVersion: s.AppVersion, Limits: s.Limits, Cipher: s.Cipher, Log: s.Log,
		TempDir: s.TempDir, Metrics: s.Metrics}
	fromChain.Changes = fromChain.ShippedLog()
	for i, rec := range recs {
		progress.report(50+50*i/len(recs), "restoring moment %d of %d from the chain", i+1, len(recs))
		m := DrilledMoment{At: rec.at, Differences: []string{}}
		t0 := time.Now()
		res, err := fromChain.RestorePointInTime(ctx, restaurantID, PointInTimeOptions{At: rec.at, NewName: "pitr drill scratch of " + r.Name}, nil)
		m.RTOSeconds = time.Since(t0).Seconds()
		if err != nil {
			m.Differences = append(m.Differences, "restore failed: "+err.Error())
			rep.Moments = append(rep.Moments, m)
			continue
		}
		m.BackupID, m.Changes = res.BackupID, res.Changes
		got, err := s.digest(ctx, res.RestaurantID)
		if derr := s.DB.DeleteRestaurant(context.WithoutCancel(ctx), res.RestaurantID); derr != nil {
			m.Differences = append(m.Differences, "scratch restaurant not deleted: "+derr.Error())
		}
		if err != nil {
			return rep, err
		}
		for _, table := range store.CapturedTables() {
			if got[table] != rec.digest[table] {
				m.Differences = append(m.Differences, fmt.Sprintf("%s differs from the restaurant at the moment", table))
			}
		}
		rep.Moments = append(rep.Moments, m)
	}
	progress.report(100, "drill done")
	return rep, nil
}

// shippedThrough is how far a restaurant's change log is shipped: its last
// segment's end, or the last run that shipped everything, whichever is later.
func (s *Service) shippedThrough(ctx context.Context, restaurantID string) (time.Time, error) {
	state, err := s.DB.ChangeShipState(ctx)
	if err != nil {
		return time.Time{}, err
	}
	latest := state.Cut.At
	if last, ok, err := s.DB.LastSegment(ctx, restaurantID); err != nil {
		return latest, err
	} else if ok && last.CoversTo.After(latest) {
		latest = last.CoversTo
	}
	return latest, nil
}

// digest is a SHA-256 per captured table of a restaurant's rows (without
// its own id and name, which a restore into a new restaurant changes).
func (s *Service) digest(ctx context.Context, restaurantID string) (map[string]string, error) {
	out := map[string]string{}
	err := s.DB.TenantSnapshot(ctx, restaurantID, func(snap *store.Snapshot) error {
		for _, table := range store.CapturedTables() {
			cols, err := snap.Columns(ctx, table)
			if err != nil {
				return err
			}
			h := sha256.New()
			if err := snap.Each(ctx, table, cols, func(vals []any) error {
				row := map[string]any{}
				for i, c := range cols {
					if c.Name == "restaurant_id" || table == "restaurants" && (c.Name == "id" || c.Name == "name") {
						continue
					}
					row[c.Name] = vals[i]
				}
				b, err := json.Marshal(row)
				h.Write(append(b, '\n'))
				return err
			}); err != nil {
				return err
			}
			out[table] = hex.EncodeToString(h.Sum(nil))
		}
		return nil
	})
	return out, err
}
