package jobs_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/jobs"
	"github.com/shimizu-tech/ordersuite/internal/store"
)

// TestScheduleCatchesUpOnAMissedRunOnce: an hourly job last ran five
// hours ago (its runs were missed: the database was away, or no instance
// was up). When the queue starts it runs the job once — not once per
// missed hour — and checking again does not run it again. A schedule that
// never ran is not caught up.
func TestScheduleCatchesUpOnAMissedRunOnce(t *testing.T) {
	t.Parallel()
	db := open(t)
	ctx := context.Background()
	fiveHoursAgo := time.Now().UTC().Add(-5 * time.Hour)
	if _, err := db.SQL().ExecContext(ctx, `INSERT INTO jobs (id, kind, restaurant_id, status, progress, message, result, created_by, created_at, updated_at)
		VALUES ($1, 'test.hourly', NULL, 'complete', 100, 'done', NULL, '', $2, $2)`, store.NewID(), fiveHoursAgo); err != nil {
		t.Fatal(err)
	}
	// An hourly schedule whose last time was half an hour ago, after the
	// run recorded five hours ago, and whose next is half an hour away:
	// River itself does not run it while the test does, whatever the hour.
	hourlyCron := fmt.Sprintf("%d * * * *", (time.Now().Minute()+30)%60)
	q := jobs.New(db, jobs.Options{PollInterval: 100 * time.Millisecond, CatchUpInterval: 100 * time.Millisecond,
		Periodic: []jobs.Periodic{
			{Cron: hourlyCron, Kind: "test.hourly"},
			{Cron: hourlyCron, Kind: "test.never"},
		}})
	var hourly, never atomic.Int32
	q.Register("test.hourly", func(context.Context, *jobs.Run) (any, error) { hourly.Add(1); return nil, nil })
	q.Register("test.never", func(context.Context, *jobs.Run) (any, error) { never.Add(1); return nil, nil })
	start(t, q)
	deadline := time.Now().Add(15 * time.Second)
	for hourly.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if hourly.Load() == 0 {
		t.Fatal("the missed hourly run was not caught up")
	}
	time.Sleep(1500 * time.Millisecond) // fifteen more checks
	if n := hourly.Load(); n != 1 {
		t.Errorf("the missed hourly run ran %d times, want once", n)
	}
	if n := never.Load(); n != 0 {
		t.Errorf("a schedule that never ran was caught up %d times", n)
	}
}
