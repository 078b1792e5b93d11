package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/robfig/cron/v3"

	"github.com/shimizu-tech/ordersuite/internal/store"
)

// River's periodic enqueuer moves a schedule to its next run whether or
// not the insert of this one succeeded, and computes the next run from the
// present when an instance starts or becomes leader; so a run due while
// the database was away, or while no instance was up, would simply not
// happen. catchUp runs such a run once, late: for each cron schedule it
// looks at the latest time the schedule was due, and if the job has run
// before but not since then, and none is waiting, it enqueues one. Only
// the latest due time counts, so a long outage that missed several runs
// catches up once, not once per missed run. A schedule that never ran (a
// new installation) is not caught up.

// catchUpLockKey is the advisory lock one instance holds while catching
// up, so that two instances do not both enqueue the missed run.
const catchUpLockKey = 0x6a6f6273_63617463 // "jobscatc"

// catchUpLoop checks at start and every CatchUpInterval until ctx ends.
func (q *Queue) catchUpLoop(ctx context.Context) {
	t := time.NewTicker(q.opts.CatchUpInterval)
	defer t.Stop()
	for {
		if err := q.catchUp(ctx); err != nil && ctx.Err() == nil && !errors.Is(err, store.ErrLockHeld) {
			q.log.WarnContext(ctx, "checking schedules for missed runs failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (q *Queue) catchUp(ctx context.Context) error {
	return q.db.WithInstanceLock(ctx, catchUpLockKey, func(ctx context.Context) error {
		now := time.Now().UTC()
		for _, p := range q.opts.Periodic {
			if p.Cron == "" {
				continue
			}
			cs, err := ParseCron(p.Cron)
			if err != nil {
				return fmt.Errorf("jobs: schedule %q for %s: %w", p.Cron, p.Kind, err)
			}
			due := lastDue(utcSchedule{cs}, now)
			if due.IsZero() || now.Sub(due) < q.opts.CatchUpGrace {
				continue // River's own enqueuer is on it
			}
			if err := q.catchUpOne(ctx, p, due); err != nil {
				return err
			}
		}
		return nil
	})
}

func (q *Queue) catchUpOne(ctx context.Context, p Periodic, due time.Time) error {
	last, ran, err := q.db.LastJobOfKind(ctx, p.Kind)
	if err != nil || !ran || !last.Before(due) {
		return err
	}
	c, err := q.riverClient()
	if err != nil {
		return err
	}
	waiting, err := c.JobList(ctx, river.NewJobListParams().Kinds(p.Kind).First(1).States(
		rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable,
		rivertype.JobStateRunning, rivertype.JobStateScheduled))
	if err != nil {
		return fmt.Errorf("jobs: list waiting %s: %w", p.Kind, err)
	}
	if len(waiting.Jobs) > 0 {
		return nil
	}
	raw, err := marshalPayload(p.Payload)
	if err != nil {
		return err
	}
	if _, err := c.Insert(ctx, task{kind: p.Kind, Payload: raw}, &river.InsertOpts{MaxAttempts: 3}); err != nil {
		return fmt.Errorf("jobs: catch up %s: %w", p.Kind, err)
	}
	q.log.InfoContext(ctx, "scheduled run missed; running it now", "kind", p.Kind, "due", due, "last_run", last)
	return nil
}

// lastDue is the latest time at or before now that sched was due, zero if
// none in the two periods before now.
func lastDue(sched cron.Schedule, now time.Time) time.Time {
	next := sched.Next(now)
	period := sched.Next(next).Sub(next)
	var due time.Time
	for t := sched.Next(now.Add(-2*period - time.Minute)); !t.IsZero() && !t.After(now); t = sched.Next(t) {
		due = t
	}
	return due
}
