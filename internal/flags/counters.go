package flags

import (
	"context"
	"sort"
	"sync/atomic"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/store"
)

// Evaluations are counted in memory with atomic adds and written
// periodically, so evaluating never writes to the database.

type counterKey struct{ tenant, key string }

type counter struct{ t, f atomic.Int64 }

// counterLocked returns the counter of a tenant's key, creating it; it
// outlives snapshots so that invalidation loses no counts. Caller holds s.mu.
func (s *Service) counterLocked(tid, key string) *counter {
	k := counterKey{tid, key}
	c := s.counters[k]
	if c == nil {
		c = &counter{}
		s.counters[k] = c
	}
	return c
}

// Flush writes the counts gathered since the last flush. Counts that fail to
// be written are added back for the next attempt.
func (s *Service) Flush(ctx context.Context) error {
	s.mu.Lock()
	var counts []store.FlagEvaluationCount
	for k, c := range s.counters {
		t, f := c.t.Swap(0), c.f.Swap(0)
		if t != 0 || f != 0 {
			counts = append(counts, store.FlagEvaluationCount{RestaurantID: k.tenant, Key: k.key, True: t, False: f})
		}
	}
	s.mu.Unlock()
	if err := s.db.AddFlagEvaluations(ctx, counts); err != nil {
		s.mu.Lock()
		for _, c := range counts {
			ctr := s.counterLocked(c.RestaurantID, c.Key)
			ctr.t.Add(c.True)
			ctr.f.Add(c.False)
		}
		s.mu.Unlock()
		return err
	}
	return nil
}

func (s *Service) flushLogged(ctx context.Context) {
	if err := s.Flush(ctx); err != nil {
		s.log.Error("flags: write evaluation counts", "err", err)
	}
}

// StaleFlag is a flag that may be ready to remove from the code.
type StaleFlag struct {
	Key    string `json:"key"`
	Global bool   `json:"global"`
	// Reason: never_evaluated, not_evaluated (nothing within the window),
	// always_true or always_false (every evaluation in the window gave the
	// same answer and the flag has not changed within it).
	Reason        string     `json:"reason"`
	LastEvaluated *time.Time `json:"last_evaluated_at"`
	TrueCount     int64      `json:"true_count"`
	FalseCount    int64      `json:"false_count"`
	UpdatedAt     time.Time  `json:"updated_at"`
}

// Stale lists the tenant's effective flags not evaluated within the last
// days days, or stuck at one answer (0 % or 100 %) for as long. Counts not
// yet flushed are written first so the listing is current.
func (s *Service) Stale(ctx context.Context, days int) ([]StaleFlag, error) {
	if err := s.Flush(ctx); err != nil {
		return nil, err
	}
	now := s.db.Now()
	since := now.AddDate(0, 0, -days)
	// The window is whole UTC days: today and the days-1 before it.
	sinceDay := time.Date(now.Year(), now.Month(), now.Day()-days+1, 0, 0, 0, 0, time.UTC)
	usage, err := s.db.FlagUsageSince(ctx, sinceDay)
	if err != nil {
		return nil, err
	}
	effective, err := s.List(ctx)
	if err != nil {
		return nil, err
	}
	out := []StaleFlag{}
	for _, f := range effective.Effective {
		u := usage[f.Key]
		sf := StaleFlag{Key: f.Key, Global: f.Global, TrueCount: u.True, FalseCount: u.False, UpdatedAt: f.UpdatedAt}
		if !u.LastEvaluated.IsZero() {
			last := u.LastEvaluated
			sf.LastEvaluated = &last
		}
		switch {
		case f.CreatedAt.After(since):
			continue // too young to judge
		case u.LastEvaluated.IsZero():
			sf.Reason = "never_evaluated"
		case u.True == 0 && u.False == 0:
			sf.Reason = "not_evaluated"
		case f.UpdatedAt.After(since):
			continue
		case u.False == 0:
			sf.Reason = "always_true"
		case u.True == 0:
			sf.Reason = "always_false"
		default:
			continue
		}
		out = append(out, sf)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}
