package jobs_test

import (
	"bufio"
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/jobs"
	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/storetest"
	"github.com/shimizu-tech/ordersuite/internal/syncbuf"
)

// workerChildEnv makes TestWorkerChild the instance under test: "URL\nmode".
const workerChildEnv = "ORDERSUITE_JOBS_WORKER_CHILD"

const testLease = time.Second

// TestWorkerChild works test.slow jobs in its own process. In mode "hang"
// the job never ends (the parent kills the process); in mode "long" it
// takes several leases and then completes.
func TestWorkerChild(t *testing.T) {
	t.Parallel()
	spec := os.Getenv(workerChildEnv)
	if spec == "" {
		t.Skip("runs only as the child of the lease tests")
	}
	url, mode, _ := strings.Cut(spec, "\n")
	ctx := context.Background()
	db, err := store.Open(ctx, url, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	q := jobs.New(db, jobs.Options{PollInterval: 100 * time.Millisecond, Lease: testLease})
	done := make(chan struct{})
	q.Register("test.slow", func(ctx context.Context, run *jobs.Run) (any, error) {
		run.Progress(ctx, 40, "working")
		// Progress is written in the background: the parent looks for it
		// once told.
		for i := 0; i < 500; i++ {
			if j, err := db.Job(ctx, run.JobID); err == nil && j.Progress == 40 {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		os.Stdout.WriteString("WORKING\n")
		if mode == "hang" {
			select {}
		}
		time.Sleep(4 * testLease)
		close(done)
		return "finished in the child", nil
	})
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	<-done
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := q.Stop(sctx); err != nil {
		t.Fatal(err)
	}
}

// startWorker runs TestWorkerChild in a new process and waits until it
// works the job.
func startWorker(t *testing.T, url, mode string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestWorkerChild$", "-test.v")
	cmd.Env = append(os.Environ(), workerChildEnv+"="+url+"\n"+mode)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	working := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if sc.Text() == "WORKING" {
				working <- true
				for sc.Scan() { // keep the pipe drained
				}
				return
			}
		}
		working <- false
	}()
	select {
	case ok := <-working:
		if !ok {
			cmd.Wait()
			t.Fatalf("the worker process ended before working the job: %s", stderr.String())
		}
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatal("the worker process did not take the job")
	}
	return cmd
}

func migrated(t *testing.T) (*store.DB, string) {
	t.Helper()
	ctx := context.Background()
	url, opts := storetest.NewMigratedDatabase(t)
	db, err := store.Open(ctx, url, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := jobs.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	return db, url
}

// watch records every distinct status and message a job shows until stop.
func watch(db *store.DB, id string) (stop func() []string) {
	var mu sync.Mutex
	var seen []string
	quit, ended := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(ended)
		for {
			if j, err := db.Job(context.Background(), id); err == nil {
				s := j.Status + ": " + j.Message
				mu.Lock()
				if len(seen) == 0 || seen[len(seen)-1] != s {
					seen = append(seen, s)
				}
				mu.Unlock()
			}
			select {
			case <-quit:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	return func() []string {
		close(quit)
		<-ended
		mu.Lock()
		defer mu.Unlock()
		return seen
	}
}

// TestKilledWorkerJobIsInterruptedAndRunAgain: kill -9 of the instance
// working a job; another instance records it as interrupted within about a
// lease and runs it again, once.
func TestKilledWorkerJobIsInterruptedAndRunAgain(t *testing.T) {
	t.Parallel()
	if os.Getenv(workerChildEnv) != "" {
		t.Skip("child process")
	}
	db, url := migrated(t)
	ctx := context.Background()
	producer := jobs.New(db, jobs.Options{})
	producer.Register("test.slow", func(context.Context, *jobs.Run) (any, error) { return nil, errors.New("not here") })
	j, err := producer.Enqueue(ctx, "test.slow", "payload", jobs.EnqueueOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cmd := startWorker(t, url, "hang")
	if err := cmd.Process.Kill(); err != nil { // SIGKILL: nothing of the worker runs after this
		t.Fatal(err)
	}
	cmd.Wait()
	if got, _ := db.Job(ctx, j.ID); got.Status != "running" || got.Progress != 40 {
		t.Fatalf("the killed worker's job: %+v", got)
	}
	stop := watch(db, j.ID)

	var runs atomic.Int64
	interrupted := make(chan int, 1)
	// The job is queued again only until the next poll takes it, which may
	// be sooner than the watcher looks; the settlement is also logged.
	var logged syncbuf.Buffer
	later := jobs.New(db, jobs.Options{PollInterval: 100 * time.Millisecond, Lease: testLease,
		Log: slog.New(slog.NewTextHandler(&logged, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	later.Register("test.slow", func(_ context.Context, run *jobs.Run) (any, error) {
		runs.Add(1)
		interrupted <- run.Interrupted
		return "finished again", nil
	})
	killedAt := time.Now()
	start(t, later)
	done := wait(t, later, j.ID)
	took := time.Since(killedAt)
	seen := stop()
	if done.Status != "complete" || string(done.Result) != `"finished again"` {
		t.Fatalf("after the kill: %+v, result %s", done, done.Result)
	}
	if n := <-interrupted; n != 1 {
		t.Errorf("the run after the kill was told of %d interruptions, want 1", n)
	}
	const settled = "interrupted at 40% (working): the instance working it stopped; queued again"
	if !strings.Contains(logged.String(), "job_id="+j.ID) || !strings.Contains(logged.String(), settled) {
		t.Errorf("the job was not settled as interrupted (%q); the log holds:\n%s", settled, logged.String())
	}
	t.Logf("killed worker's job run again %v after the kill (lease %v); states %q", took.Round(time.Millisecond), testLease, seen)
	time.Sleep(3 * testLease)
	if n := runs.Load(); n != 1 {
		t.Errorf("the job ran %d times after the kill", n)
	}
}

// TestLiveLongJobIsNotTakenForDead: a job running for several leases in
// another instance, renewing its lease, is left alone by an instance that
// looks for dead jobs.
func TestLiveLongJobIsNotTakenForDead(t *testing.T) {
	t.Parallel()
	if os.Getenv(workerChildEnv) != "" {
		t.Skip("child process")
	}
	db, url := migrated(t)
	ctx := context.Background()
	producer := jobs.New(db, jobs.Options{})
	producer.Register("test.slow", func(context.Context, *jobs.Run) (any, error) { return nil, errors.New("not here") })
	j, err := producer.Enqueue(ctx, "test.slow", "payload", jobs.EnqueueOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cmd := startWorker(t, url, "long")
	stop := watch(db, j.ID)
	var stolen atomic.Int64
	watcher := jobs.New(db, jobs.Options{PollInterval: 100 * time.Millisecond, Lease: testLease})
	watcher.Register("test.slow", func(context.Context, *jobs.Run) (any, error) { stolen.Add(1); return "stolen", nil })
	start(t, watcher)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("the worker process: %v", err)
	}
	done := wait(t, watcher, j.ID)
	seen := stop()
	if done.Status != "complete" || string(done.Result) != `"finished in the child"` || stolen.Load() != 0 {
		t.Fatalf("the long job: %+v result %s, run %d times elsewhere; states %q", done, done.Result, stolen.Load(), seen)
	}
	for _, s := range seen {
		if strings.Contains(s, "interrupted") {
			t.Errorf("a live job was taken for dead: %q", seen)
		}
	}
}

// TestRetriedPeriodicJobKeepsOneRecord: each attempt of a scheduled job
// reports to the same record, so a failed attempt leaves no "queued" record
// behind once a retry succeeds.
func TestRetriedPeriodicJobKeepsOneRecord(t *testing.T) {
	t.Parallel()
	db := open(t)
	ctx := context.Background()
	failed := make(chan string, 10)
	q := jobs.New(db, jobs.Options{PollInterval: 100 * time.Millisecond,
		Periodic: []jobs.Periodic{{Every: 2 * time.Second, Kind: "test.flaky"}}})
	// Only the first run's first attempt fails: a later period's run that
	// failed and waits for its retry is rightly a queued record, and when
	// it comes is a matter of timing, not of the property tested.
	var failedOne atomic.Bool
	q.Register("test.flaky", func(_ context.Context, run *jobs.Run) (any, error) {
		if run.Attempt == 1 && failedOne.CompareAndSwap(false, true) {
			failed <- run.JobID
			return nil, errors.New("transient trouble")
		}
		return "ok", nil
	})
	start(t, q)
	var id string
	select {
	case id = <-failed:
	case <-time.After(30 * time.Second):
		t.Fatal("the periodic job never ran")
	}
	j := wait(t, q, id)
	if j.Status != "complete" {
		t.Fatalf("the failed attempt's record: %+v", j)
	}
	all, err := db.RecentJobs(ctx, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range all {
		if r.Status == "queued" && strings.Contains(r.Message, "failed") {
			t.Errorf("stale record of a retried attempt: %+v", r)
		}
	}
}

// TestJobCutShortByShutdownIsRunAgain: a job still running when its
// instance shuts down (past the drain time) is recorded as interrupted,
// not failed, and the next instance runs it to the end.
func TestJobCutShortByShutdownIsRunAgain(t *testing.T) {
	t.Parallel()
	db := open(t)
	ctx := context.Background()
	working := make(chan struct{}, 1)
	first := jobs.New(db, jobs.Options{PollInterval: 100 * time.Millisecond})
	first.Register("test.long", func(ctx context.Context, run *jobs.Run) (any, error) {
		run.Progress(ctx, 60, "copying")
		working <- struct{}{}
		<-ctx.Done()
		return nil, ctx.Err()
	})
	if err := first.Start(ctx); err != nil {
		t.Fatal(err)
	}
	j, err := first.Enqueue(ctx, "test.long", nil, jobs.EnqueueOptions{})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-working:
	case <-time.After(30 * time.Second):
		t.Fatal("the job did not start")
	}
	sctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	first.Stop(sctx) // the drain time runs out: the job is cancelled
	got, err := db.Job(ctx, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != "queued" || !strings.HasPrefix(got.Message, "interrupted at 60% (copying): the instance working it shut down; queued again") {
		t.Fatalf("after the shutdown: %+v", got)
	}
	next := jobs.New(db, jobs.Options{PollInterval: 100 * time.Millisecond})
	var runs atomic.Int64
	next.Register("test.long", func(context.Context, *jobs.Run) (any, error) { runs.Add(1); return "finished", nil })
	start(t, next)
	done := wait(t, next, j.ID)
	if done.Status != "complete" || string(done.Result) != `"finished"` {
		t.Fatalf("after the restart: %+v result %s", done, done.Result)
	}
	time.Sleep(time.Second)
	if n := runs.Load(); n != 1 {
		t.Errorf("the job ran %d times after the restart", n)
	}
}
