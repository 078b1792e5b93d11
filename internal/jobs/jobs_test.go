package jobs_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/jobs"
	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/storetest"
)

func open(t *testing.T) *store.DB {
	t.Helper()
	db := storetest.Open(t)
	if err := jobs.Migrate(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	return db
}

func start(t *testing.T, q *jobs.Queue) {
	t.Helper()
	if err := q.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = q.Stop(ctx)
	})
}

func wait(t *testing.T, q *jobs.Queue, id string) jobs.Job {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	j, err := q.Wait(ctx, id)
	if err != nil {
		t.Fatalf("waiting for job %s: %v (last state %+v)", id, err, j)
	}
	return j
}

func TestJobLifecycle(t *testing.T) {
	t.Parallel()
	db := open(t)
	ctx := context.Background()
	q := jobs.New(db, jobs.Options{PollInterval: 100 * time.Millisecond})
	seenProgress := make(chan jobs.Job, 1)
	q.Register("test.double", func(ctx context.Context, run *jobs.Run) (any, error) {
		var in struct{ N int }
		if err := json.Unmarshal(run.Payload, &in); err != nil {
			return nil, err
		}
		run.Progress(ctx, 40, "halfway there")
		// Progress is written in the background; it shows up while the job runs.
		var j jobs.Job
		for i := 0; i < 100 && j.Progress != 40; i++ {
			time.Sleep(20 * time.Millisecond)
			var err error
			if j, err = db.Job(ctx, run.JobID); err != nil {
				return nil, err
			}
		}
		seenProgress <- j
		return map[string]int{"doubled": in.N * 2}, nil
	})
	q.Register("test.fail", func(ctx context.Context, run *jobs.Run) (any, error) {
		return nil, errors.New("disk on fire")
	})
	start(t, q)

	rid := store.NewID()
	j, err := q.Enqueue(ctx, "test.double", map[string]int{"N": 21}, jobs.EnqueueOptions{RestaurantID: rid, CreatedBy: "tester"})
	if err != nil {
		t.Fatal(err)
	}
	if j.Status != "queued" && j.Status != "running" {
		t.Fatalf("new job status %q", j.Status)
	}
	done := wait(t, q, j.ID)
	if done.Status != "complete" || done.Progress != 100 || done.RestaurantID != rid {
		t.Fatalf("finished job: %+v", done)
	}
	var res map[string]int
	if err := json.Unmarshal(done.Result, &res); err != nil || res["doubled"] != 42 {
		t.Fatalf("result %s (%v)", done.Result, err)
	}
	mid := <-seenProgress
	if mid.Status != "running" || mid.Progress != 40 || mid.Message != "halfway there" {
		t.Fatalf("progress while running: %+v", mid)
	}

	f, err := q.Enqueue(ctx, "test.fail", nil, jobs.EnqueueOptions{})
	if err != nil {
		t.Fatal(err)
	}
	failed := wait(t, q, f.ID)
	if failed.Status != "failed" || failed.Message != "disk on fire" {
		t.Fatalf("failed job: %+v", failed)
	}
}

// TestJobsSurviveRestart: a job enqueued while no worker runs is worked by
// the next instance, and its outcome is readable from a fresh process view.
func TestJobsSurviveRestart(t *testing.T) {
	t.Parallel()
	db := open(t)
	ctx := context.Background()
	producer := jobs.New(db, jobs.Options{})
	producer.Register("test.echo", func(context.Context, *jobs.Run) (any, error) { return "never here", nil })
	j, err := producer.Enqueue(ctx, "test.echo", "hello", jobs.EnqueueOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := producer.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := producer.Get(ctx, j.ID); got.Status != "queued" {
		t.Fatalf("before any worker: %+v", got)
	}

	later := jobs.New(db, jobs.Options{PollInterval: 100 * time.Millisecond})
	later.Register("test.echo", func(_ context.Context, run *jobs.Run) (any, error) { return string(run.Payload), nil })
	start(t, later)
	done := wait(t, later, j.ID)
	if done.Status != "complete" || string(done.Result) != `"\"hello\""` {
		t.Fatalf("after restart: %+v result %s", done, done.Result)
	}
	reader := jobs.New(db, jobs.Options{})
	if got, err := reader.Get(ctx, j.ID); err != nil || got.Status != "complete" {
		t.Fatalf("read back: %+v %v", got, err)
	}
	if _, err := reader.Get(ctx, store.NewID()); err == nil {
		t.Fatal("unknown job id found")
	}
	if _, err := reader.Get(ctx, "not-an-id"); err == nil {
		t.Fatal("malformed job id found")
	}
}

// TestPeriodicRunsOncePerPeriod: two instances on one database share one
// schedule; River's elected leader alone enqueues it.
func TestPeriodicRunsOncePerPeriod(t *testing.T) {
	t.Parallel()
	db := open(t)
	var runs atomic.Int64
	period := time.Second
	mk := func() *jobs.Queue {
		q := jobs.New(db, jobs.Options{PollInterval: 100 * time.Millisecond,
			Periodic: []jobs.Periodic{{Every: period, Kind: "test.tick"}}})
		q.Register("test.tick", func(context.Context, *jobs.Run) (any, error) { runs.Add(1); return nil, nil })
		return q
	}
	a, b := mk(), mk()
	start(t, a)
	start(t, b)
	window := 9 * time.Second
	time.Sleep(window)
	n := runs.Load()
	max := int64(window/period) + 2
	if n < 2 || n > max {
		t.Fatalf("%d runs in %v with a %v period over two instances; want between 2 and %d", n, window, period, max)
	}
}

// TestQueueTablesAreListed: River's tables, created at the migrate step,
// are accounted for as platform tables like every other table.
func TestQueueTablesAreListed(t *testing.T) {
	t.Parallel()
	db := open(t)
	tables, err := db.Schema(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, table := range tables {
		if _, ok := store.PlatformTables[table.Name]; !ok && !slices.Contains(store.TenantTables, table.Name) {
			t.Errorf("table %s is in neither store.TenantTables nor store.PlatformTables", table.Name)
		}
	}
}
