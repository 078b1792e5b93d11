package analytics

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/metrics"
	"github.com/shimizu-tech/ordersuite/internal/store"
)

// pruneLockKey is the PostgreSQL advisory lock that lets one instance prune
// at a time ("tenant_events" in ASCII).
const pruneLockKey int64 = 0x74656e616e745f65

// MinRetention keeps the raw events health metrics read (the last 24 hours)
// whatever the configuration says.
const MinRetention = 48 * time.Hour

// Retention deletes events older than MaxAge; the hourly rollups stay, so
// usage figures outlive the raw log. It also prunes failed-login records
// and the answers kept for Idempotency-Keys once they are a day old.
type Retention struct {
	DB      *store.DB
	Metrics *metrics.Metrics
	Log     *slog.Logger
	MaxAge  time.Duration
}

// Prune deletes the expired events once, unless another instance is at it.
func (r *Retention) Prune(ctx context.Context) (int64, error) {
	age := max(r.MaxAge, MinRetention)
	var n int64
	err := r.DB.WithInstanceLock(ctx, pruneLockKey, func(ctx context.Context) error {
		var err error
		if n, err = r.DB.PruneEvents(ctx, r.DB.Now().Add(-age), 10000); err != nil {
			return err
		}
		if _, err = r.DB.PruneLoginFailures(ctx, r.DB.Now().Add(-loginFailureRetention)); err != nil {
			return err
		}
		_, err = r.DB.PruneIdempotencyKeys(ctx, r.DB.Now().Add(-store.IdempotencyKeyTTL))
		return err
	})
	if r.Metrics != nil {
		r.Metrics.EventsPruned.Add(float64(n))
	}
	return n, err
}

// Run prunes every interval until ctx ends.
func (r *Retention) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		n, err := r.Prune(ctx)
		switch {
		case errors.Is(err, store.ErrLockHeld):
			r.Log.Debug("event retention: another instance is pruning")
		case err != nil && ctx.Err() == nil:
			r.Log.Error("event retention", "err", err)
		case n > 0:
			r.Log.Info("event retention: pruned old events", "events", n, "older_than", max(r.MaxAge, MinRetention))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
