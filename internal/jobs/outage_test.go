package jobs_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/jobs"
	"github.com/shimizu-tech/ordersuite/internal/storetest"
)

// TestJobInterruptedByAnOutageRunsAgain cuts the database in the middle of
// a job: the job is not failed (it allows one attempt, so an ordinary
// failure would end it); its record says it was interrupted by the
// database and queued again; once the database is back it runs again and
// completes.
func TestJobInterruptedByAnOutageRunsAgain(t *testing.T) {
	t.Parallel()
	direct, db, proxy := storetest.OpenBehindProxy(t)
	ctx := context.Background()
	if err := jobs.Migrate(ctx, direct); err != nil {
		t.Fatal(err)
	}
	q := jobs.New(db, jobs.Options{PollInterval: 100 * time.Millisecond, OutageRetryDelay: 500 * time.Millisecond})
	var runs atomic.Int32
	midway := make(chan struct{})
	q.Register("test.outage", func(ctx context.Context, run *jobs.Run) (any, error) {
		if runs.Add(1) == 1 {
			run.Progress(ctx, 30, "copying")
			close(midway)
			// The database goes away under this statement.
			_, err := db.SQL().ExecContext(ctx, `SELECT pg_sleep(3)`)
			return nil, err
		}
		var one int
		return map[string]int{"one": one}, db.SQL().QueryRowContext(ctx, `SELECT 1`).Scan(&one)
	})
	start(t, q)
	j, err := q.Enqueue(ctx, "test.outage", nil, jobs.EnqueueOptions{})
	if err != nil {
		t.Fatal(err)
	}
	<-midway
	time.Sleep(200 * time.Millisecond)
	proxy.Cut()
	time.Sleep(1500 * time.Millisecond)
	if err := proxy.Restore(); err != nil {
		t.Fatal(err)
	}
	// The record is written as soon as the database takes it.
	var interrupted jobs.Job
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if interrupted, err = direct.Job(ctx, j.ID); err == nil && strings.Contains(interrupted.Message, "database was unavailable") {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(interrupted.Message, "database was unavailable") && interrupted.Status != "complete" {
		t.Errorf("the interrupted job's record says %s %q", interrupted.Status, interrupted.Message)
	}
	final := wait(t, q, j.ID)
	if final.Status != "complete" {
		t.Fatalf("job after the outage: %s %q", final.Status, final.Message)
	}
	if n := runs.Load(); n != 2 {
		t.Errorf("the job ran %d times, want 2 (interrupted, then complete)", n)
	}
}
