// Package jobs runs durable background work (exports, imports, clones,
// migrations, scheduled backups) on River, in the product's own database on
// either engine. River delivers each job once, retries it and elects one
// leader among several serve instances to enqueue periodic jobs, so a
// schedule fires once however many instances run.
//
// What a user asks about a job — status, progress, message, result — lives in
// the product's own jobs table rather than in River's job row: River prunes
// finished jobs after a day and keeps its metadata for its own use, while a
// backup's outcome must stay readable long after, and the status API must
// not depend on River's internal states. River's row stays the source of
// truth for delivery; ours is written by the worker at each step.
//
// A job outlives the instance working it. Its worker renews a lease on the
// job's record (updated_at) every Lease/4; any instance finding a running
// job not heard from for a Lease takes it for dead: it records it as
// interrupted and queues it again (at most maxInterruptions times), or fails
// it with a message saying so. River's own rescue of stuck jobs cannot do
// this: it goes by how long a job has been running, so it must wait longer
// than the longest legitimate job (hours) and cannot tell a dead worker from
// a busy one.
package jobs

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"
	"github.com/robfig/cron/v3"

	"github.com/shimizu-tech/ordersuite/internal/apperr"
	"github.com/shimizu-tech/ordersuite/internal/store"
)

// Status is a job's state as the product reports it.
type Status string

const (
	Queued   Status = "queued"
	Running  Status = "running"
	Complete Status = "complete"
	Failed   Status = "failed"
)

// Job is what the status API answers.
type Job = store.JobRecord

// Run is the handle a running job gets: its ids, its payload, and a way to
// report progress.
type Run struct {
	JobID        string
	Kind         string
	RestaurantID string
	Payload      json.RawMessage
	Attempt      int
	// Interrupted counts the earlier runs of this job whose instance died.
	Interrupted int
	q           *Queue

	mu      sync.Mutex
	pending *progressUpdate
	latest  *progressUpdate
	wake    chan struct{}
}

// local holds the jobs this process works now (job id → *Run): they are
// alive whatever their lease says. On SQLite an import's transaction holds
// the write lock for its whole length, so its lease cannot be renewed in
// the database meanwhile; within the process it need not be.
var local sync.Map

type progressUpdate struct {
	percent int
	message string
}

// Progress records how far the job is (0–100) and what it is doing. The
// write happens in the background, latest value first: a job may hold the
// database's write lock (an import's transaction on SQLite), and reporting
// must neither wait for it nor deadlock on it.
func (r *Run) Progress(_ context.Context, percent int, message string) {
	u := &progressUpdate{percent, message}
	r.mu.Lock()
	r.pending, r.latest = u, u
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// reportProgress writes progress updates, and renews the job's lease,
// until stop closes, then returns once any write in flight is done.
func (r *Run) reportProgress(ctx context.Context, stop <-chan struct{}) {
	heartbeat := time.NewTicker(r.q.opts.Lease / 4)
	defer heartbeat.Stop()
	for {
		select {
		case <-stop:
			return
		case <-heartbeat.C:
			if err := r.q.db.TouchJob(ctx, r.JobID); err != nil {
				r.q.log.WarnContext(ctx, "job lease not renewed", "job_id", r.JobID, "err", err)
			}
			continue
		case <-r.wake:
		}
		r.mu.Lock()
		u := r.pending
		r.pending = nil
		r.mu.Unlock()
		if u == nil {
			continue
		}
		if err := r.q.db.UpdateJob(ctx, r.JobID, r.Kind, r.RestaurantID, string(Running), u.percent, u.message, nil); err != nil {
			r.q.log.WarnContext(ctx, "job progress not recorded", "job_id", r.JobID, "err", err)
		}
	}
}

// SetTenant names the tenant the job turned out to concern, so its admin
// may read its status.
func (r *Run) SetTenant(ctx context.Context, restaurantID string) error {
	r.RestaurantID = restaurantID
	return r.q.db.SetJobTenant(ctx, r.JobID, restaurantID)
}

// Handler does one kind of job. Its result is recorded as JSON.
type Handler func(ctx context.Context, run *Run) (result any, err error)

// Periodic is a job enqueued on a cron schedule (in UTC; see ParseCron),
// or every interval when Every is set.
type Periodic struct {
	Cron    string
	Every   time.Duration
	Kind    string
	Payload any
}

// Options configure a Queue.
type Options struct {
	Workers  int // concurrent jobs per instance; default 2
	Periodic []Periodic
	Log      *slog.Logger
	// PollInterval is how often an idle instance looks for work where the
	// engine cannot notify it (SQLite); default 1 s.
	PollInterval time.Duration
	// Lease is how long a running job may go unheard from before it is
	// taken for dead (its instance killed or crashed); default 1 min. Its
	// worker renews it every Lease/4; every instance looks for dead jobs
	// every Lease/2.
	Lease time.Duration
	// OutageRetryDelay is how long a job interrupted by an unavailable
	// database waits before it runs again; default 5 s.
	OutageRetryDelay time.Duration
	// CatchUpInterval is how often the leader looks for a scheduled run
	// that was missed (see catchUp); default 1 min. CatchUpGrace is how
	// long after a run was due it counts as missed; default 2 min.
	CatchUpInterval, CatchUpGrace time.Duration
}

// maxInterruptions is how many times a job is queued again after its
// instance died under it. A job that kills its worker (out of memory)
// every time must end.
const maxInterruptions = 2

// EnqueueOptions tune one job.
type EnqueueOptions struct {
	RestaurantID string
	CreatedBy    string
	// MaxAttempts defaults to 1: a failed restore or export is reported, not
	// silently repeated.
	MaxAttempts int
}

// client is what the product uses of a River client, whatever its driver.
type client interface {
	Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	StopAndCancel(ctx context.Context) error
	JobList(ctx context.Context, params *river.JobListParams) (*river.JobListResult, error)
	JobCancel(ctx context.Context, jobID int64) (*rivertype.JobRow, error)
}

// Queue enqueues and runs jobs.
type Queue struct {
	db       *store.DB
	log      *slog.Logger
	opts     Options
	mu       sync.Mutex
	handlers map[string]Handler
	client   client
	riverDB  *sql.DB // SQLite: River's own single connection
	started  bool
	halting  atomic.Bool // Stop was called: a job cancelled now was cut short, not failed
	stopReap context.CancelFunc
	reaped   chan struct{}
}

// New prepares a queue over db. Register handlers, then Start to work jobs;
// a queue that is never started can still enqueue (another instance works).
func New(db *store.DB, opts Options) *Queue {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Workers <= 0 {
		opts.Workers = 2
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = time.Second
	}
	if opts.Lease <= 0 {
		opts.Lease = time.Minute
	}
	opts.Lease = max(opts.Lease, 100*time.Millisecond) // renewed every Lease/4
	if opts.OutageRetryDelay <= 0 {
		opts.OutageRetryDelay = 5 * time.Second
	}
	if opts.CatchUpInterval <= 0 {
		opts.CatchUpInterval = time.Minute
	}
	if opts.CatchUpGrace <= 0 {
		opts.CatchUpGrace = 2 * time.Minute
	}

	return &Queue{db: db, log: opts.Log, opts: opts, handlers: map[string]Handler{}}
}

// Register adds the handler for a kind. Kinds must match River's pattern
// (letters, digits and _-[]<>/.:+).
func (q *Queue) Register(kind string, h Handler) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.handlers[kind] = h
}

// task is the River job: the kind is the product's, the payload opaque.
type task struct {
	kind    string
	JobID   string          `json:"job_id"`
	Tenant  string          `json:"restaurant_id,omitempty"`
	Payload json.RawMessage `json:"payload"`
	// Interrupted counts the times an instance died working this job.
	Interrupted int `json:"interrupted,omitempty"`
}

func (t task) Kind() string { return t.kind }

type worker struct {
	river.WorkerDefaults[task]
	q *Queue
}

// Timeout: a large tenant's export or import may take long; River's default
// of one minute would cancel it.
func (w *worker) Timeout(*river.Job[task]) time.Duration { return 6 * time.Hour }

func (w *worker) Work(ctx context.Context, job *river.Job[task]) error {
	return w.q.work(ctx, job.JobRow, job.Args)
}

// periodicJobID names the record of a job River enqueued on a schedule: the
// same for each of its attempts, so a retried run updates one record
// rather than leaving one per attempt.
func periodicJobID(row *rivertype.JobRow) string {
	h := sha256.Sum256(fmt.Appendf(nil, "river-job/%d/%s/%d", row.ID, row.Kind, row.CreatedAt.UnixNano()))
	h[6] = h[6]&0x0f | 0x50 // a name-based (version 5 style) UUID
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// recordID is the product's job record a River job reports to.
func recordID(row *rivertype.JobRow, args task) string {
	if args.JobID != "" {
		return args.JobID
	}
	return periodicJobID(row)
}

func (q *Queue) work(ctx context.Context, row *rivertype.JobRow, args task) error {
	kind, attempt, maxAttempts := row.Kind, row.Attempt, row.MaxAttempts
	q.mu.Lock()
	h := q.handlers[kind]
	q.mu.Unlock()
	args.JobID = recordID(row, args)
	run := &Run{JobID: args.JobID, Kind: kind, RestaurantID: args.Tenant, Payload: args.Payload, Attempt: attempt, Interrupted: args.Interrupted, q: q, wake: make(chan struct{}, 1)}
	if h == nil {
		err := fmt.Errorf("no handler for job kind %q", kind)
		_ = q.db.UpdateJob(ctx, run.JobID, kind, run.RestaurantID, string(Failed), 0, err.Error(), nil)
		return river.JobCancel(err)
	}
	// A River job whose record was already settled (an interrupted job
	// queued again under a new River job, then finished) is not run twice.
	if rec, err := q.db.Job(ctx, run.JobID); err == nil && !q.mayStart(rec) {
		return river.JobCancel(fmt.Errorf("job %s is already %s", rec.ID, rec.Status))
	}
	local.Store(run.JobID, run)
	defer local.Delete(run.JobID)
	if err := q.db.UpdateJob(ctx, run.JobID, kind, run.RestaurantID, string(Running), 0, "started", nil); err != nil {
		if q.db.IsUnavailable(err) {
			q.log.Warn("job put off: the database is unavailable", "job_id", run.JobID, "kind", kind, "err", err)
			return river.JobSnooze(q.opts.OutageRetryDelay)
		}
		return err
	}
	stop, reported := make(chan struct{}), make(chan struct{})
	go func() { defer close(reported); run.reportProgress(context.WithoutCancel(ctx), stop) }()
	result, err := safeCall(ctx, h, run)
	close(stop)
	<-reported // no progress write may land after the outcome
	// The job's own context may be cancelled (shutdown); its outcome must
	// still be recorded.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err != nil && ctx.Err() != nil && q.halting.Load() {
		// Cut short by this instance's shutdown (a deploy, a restart): the
		// job did not fail. River makes a job that returns context.Canceled
		// while its client stops available again, to whichever instance
		// runs next; the record says so rather than "failed".
		percent, message := run.last()
		msg := fmt.Sprintf("interrupted at %d%% (%s): the instance working it shut down; queued again", percent, message)
		if uerr := q.db.UpdateJob(rctx, run.JobID, kind, run.RestaurantID, string(Queued), percent, msg, nil); uerr != nil {
			q.log.Error("job outcome not recorded", "job_id", run.JobID, "err", uerr)
		}
		q.log.Warn("job interrupted", "job_id", run.JobID, "kind", kind, "message", msg)
		return fmt.Errorf("%w: %v", context.Canceled, err)
	}
	if err != nil && q.db.IsUnavailable(err) {
		// The database went away under the job: it did not fail, and
		// running it again once the database is back is what the user
		// wants. Snoozing does not count as an attempt; the record says
		// why it waits (written as soon as the database takes it).
		percent, message := run.last()
		msg := fmt.Sprintf("interrupted at %d%% (%s): the database was unavailable; queued again", percent, message)
		q.log.Warn("job interrupted: the database is unavailable", "job_id", run.JobID, "kind", kind, "err", err)
		q.recordUntilWritten(context.WithoutCancel(ctx), run, string(Queued), percent, msg)
		return river.JobSnooze(q.opts.OutageRetryDelay)
	}
	if err != nil {
		status, msg := Failed, err.Error()
		if attempt < maxAttempts {
			status, msg = Queued, fmt.Sprintf("attempt %d failed, will retry: %v", attempt, err)
		}
		if uerr := q.db.UpdateJob(rctx, run.JobID, kind, run.RestaurantID, string(status), 0, msg, nil); uerr != nil {
			q.log.Error("job outcome not recorded", "job_id", run.JobID, "err", uerr)
		}
		q.log.Warn("job failed", "job_id", run.JobID, "kind", kind, "attempt", attempt, "err", err)
		if apperr.CodeOf(err) != apperr.Internal {
			return river.JobCancel(err) // bad input does not get better on retry
		}
		return err
	}
	raw, merr := json.Marshal(result)
	if merr != nil {
		raw = nil
	}
	if uerr := q.db.UpdateJob(rctx, run.JobID, kind, run.RestaurantID, string(Complete), 100, "done", raw); uerr != nil {
		return uerr
	}
	q.log.Info("job complete", "job_id", run.JobID, "kind", kind)
	return nil
}

// outageRecordTimeout bounds how long a worker keeps trying to record that
// its job was interrupted by an outage. Until the record says queued, a
// worker taking the job up again would read it as running elsewhere.
const outageRecordTimeout = 5 * time.Minute

// recordUntilWritten writes a job's record, retrying while the database
// is unavailable.
func (q *Queue) recordUntilWritten(ctx context.Context, run *Run, status string, percent int, msg string) {
	ctx, cancel := context.WithTimeout(ctx, outageRecordTimeout)
	defer cancel()
	pause := 100 * time.Millisecond
	for {
		err := q.db.UpdateJob(ctx, run.JobID, run.Kind, run.RestaurantID, status, percent, msg, nil)
		if err == nil {
			return
		}
		if !q.db.IsUnavailable(err) || ctx.Err() != nil {
			q.log.Error("job outcome not recorded", "job_id", run.JobID, "err", err)
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(pause):
		}
		pause = min(2*pause, time.Second)
	}
}

// last is the latest progress the job reported.
func (r *Run) last() (percent int, message string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if u := r.latest; u != nil {
		return u.percent, u.message
	}
	return 0, "started"
}

// mayStart reports whether a worker may take up a job in the state rec.
func (q *Queue) mayStart(rec Job) bool {
	switch Status(rec.Status) {
	case Queued:
		return true
	case Running: // only if its worker is dead
		_, mine := local.Load(rec.ID)
		return !mine && rec.UpdatedAt.Before(q.db.Now().Add(-q.opts.Lease))
	}
	return false
}

// reap looks for dead jobs every Lease/2 until ctx ends.
func (q *Queue) reap(ctx context.Context) {
	t := time.NewTicker(q.opts.Lease / 2)
	defer t.Stop()
	for {
		if err := q.reapOnce(ctx); err != nil && ctx.Err() == nil {
			q.log.WarnContext(ctx, "looking for interrupted jobs failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// reapOnce records every running job whose lease ran out as interrupted,
// and queues it again or fails it.
func (q *Queue) reapOnce(ctx context.Context) error {
	recs, err := q.db.RunningJobs(ctx)
	if err != nil {
		return err
	}
	cutoff := q.db.Now().Add(-q.opts.Lease)
	var stale []Job
	for _, r := range recs {
		if _, mine := local.Load(r.ID); !mine && r.UpdatedAt.Before(cutoff) {
			stale = append(stale, r)
		}
	}
	if len(stale) == 0 {
		return nil
	}
	c, err := q.riverClient()
	if err != nil {
		return err
	}
	// River's row of each dead job: still "running" in River's table, where
	// its args name the product's record.
	res, err := c.JobList(ctx, river.NewJobListParams().States(rivertype.JobStateRunning).First(10000))
	if err != nil {
		return fmt.Errorf("jobs: list running: %w", err)
	}
	rows := map[string]*rivertype.JobRow{}
	for _, row := range res.Jobs {
		var args task
		if json.Unmarshal(row.EncodedArgs, &args) == nil {
			rows[recordID(row, args)] = row
		}
	}
	var errs []error
	for _, rec := range stale {
		errs = append(errs, q.interrupted(ctx, c, rec, rows[rec.ID], cutoff))
	}
	return errors.Join(errs...)
}

// interrupted settles one dead job: rec is its record, row its River job
// (nil when River no longer has it running).
func (q *Queue) interrupted(ctx context.Context, c client, rec Job, row *rivertype.JobRow, cutoff time.Time) error {
	var args task
	if row != nil {
		if err := json.Unmarshal(row.EncodedArgs, &args); err != nil {
			row = nil
		}
	}
	msg := fmt.Sprintf("interrupted at %d%% (%s): the instance working it stopped", rec.Progress, rec.Message)
	status := Failed
	switch {
	case row == nil:
		msg += "; not retried"
	case args.Interrupted >= maxInterruptions:
		msg += fmt.Sprintf("; not retried after %d interruptions", args.Interrupted+1)
	default:
		status = Queued
		msg += "; queued again"
	}
	won, err := q.db.ClaimStaleJob(ctx, rec.ID, cutoff, string(status), msg)
	if err != nil || !won {
		return err
	}
	q.log.WarnContext(ctx, "job interrupted", "job_id", rec.ID, "kind", rec.Kind, "message", msg)
	if row == nil {
		return nil
	}
	// Cancelling River's job makes its own rescue, hours later, discard it
	// rather than run it again.
	if _, err := c.JobCancel(ctx, row.ID); err != nil {
		q.log.WarnContext(ctx, "interrupted job not cancelled in River", "job_id", rec.ID, "err", err)
	}
	if status != Queued {
		return nil
	}
	args.kind, args.JobID = row.Kind, rec.ID
	args.Interrupted++
	// The interrupted attempt does not count against the job's attempts.
	if _, err := c.Insert(ctx, args, &river.InsertOpts{MaxAttempts: max(1, row.MaxAttempts-row.Attempt+1)}); err != nil {
		_ = q.db.UpdateJob(ctx, rec.ID, rec.Kind, rec.RestaurantID, string(Failed), rec.Progress, msg+", but could not be queued: "+err.Error(), nil)
		return fmt.Errorf("jobs: queue %s again: %w", rec.ID, err)
	}
	return nil
}

// safeCall turns a handler's panic into a failed job.
func safeCall(ctx context.Context, h Handler, run *Run) (result any, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("job panicked: %v", v)
		}
	}()
	return h(ctx, run)
}

// Enqueue records a job as queued and hands it to River.
func (q *Queue) Enqueue(ctx context.Context, kind string, payload any, opt EnqueueOptions) (Job, error) {
	c, err := q.riverClient()
	if err != nil {
		return Job{}, err
	}
	raw, err := json.Marshal(payload)
	if err != nil {
		return Job{}, fmt.Errorf("jobs: encode payload: %w", err)
	}
	rec, err := q.db.CreateJob(ctx, store.JobRecord{Kind: kind, RestaurantID: opt.RestaurantID, CreatedBy: opt.CreatedBy, Message: "queued"})
	if err != nil {
		return Job{}, err
	}
	attempts := opt.MaxAttempts
	if attempts <= 0 {
		attempts = 1
	}
	_, err = c.Insert(ctx, task{kind: kind, JobID: rec.ID, Tenant: opt.RestaurantID, Payload: raw}, &river.InsertOpts{MaxAttempts: attempts})
	if err != nil {
		_ = q.db.UpdateJob(ctx, rec.ID, kind, opt.RestaurantID, string(Failed), 0, "could not be queued", nil)
		return Job{}, fmt.Errorf("jobs: enqueue %s: %w", kind, err)
	}
	return q.db.Job(ctx, rec.ID)
}

// Get returns a job's record. A job running in this process shows its
// latest progress even before the record has it (on SQLite an import holds
// the write lock until it ends).
func (q *Queue) Get(ctx context.Context, id string) (Job, error) {
	j, err := q.db.Job(ctx, id)
	if err != nil || j.Status != string(Running) {
		return j, err
	}
	if v, ok := local.Load(id); ok {
		r := v.(*Run)
		r.mu.Lock()
		if u := r.latest; u != nil {
			j.Progress, j.Message = min(max(u.percent, 0), 100), u.message
		}
		r.mu.Unlock()
	}
	return j, nil
}

// Wait polls until the job is complete or failed (tests and the CLI).
func (q *Queue) Wait(ctx context.Context, id string) (Job, error) {
	for {
		j, err := q.db.Job(ctx, id)
		if err != nil {
			return j, err
		}
		if j.Status == string(Complete) || j.Status == string(Failed) {
			return j, nil
		}
		select {
		case <-ctx.Done():
			return j, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Start begins working jobs and, on the elected leader, enqueueing periodic
// ones.
func (q *Queue) Start(ctx context.Context) error {
	c, err := q.riverClient()
	if err != nil {
		return err
	}
	q.mu.Lock()
	idle := len(q.handlers) == 0
	q.started = !idle
	q.mu.Unlock()
	if idle { // nothing to work here; another instance may
		return nil
	}
	if err := c.Start(ctx); err != nil {
		return fmt.Errorf("jobs: start: %w", err)
	}
	rctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	q.mu.Lock()
	q.stopReap, q.reaped = stop, make(chan struct{})
	q.mu.Unlock()
	hasCron := false
	for _, p := range q.opts.Periodic {
		hasCron = hasCron || p.Cron != ""
	}
	go func() {
		defer close(q.reaped)
		var wg sync.WaitGroup
		if hasCron {
			wg.Add(1)
			go func() { defer wg.Done(); q.catchUpLoop(rctx) }()
		}
		q.reap(rctx)
		wg.Wait()
	}()
	return nil
}

// Stop lets running jobs finish until ctx ends, then cancels them, and
// releases River's connection.
func (q *Queue) Stop(ctx context.Context) error {
	q.halting.Store(true)
	q.mu.Lock()
	c, started, stopReap, reaped := q.client, q.started, q.stopReap, q.reaped
	q.mu.Unlock()
	if stopReap != nil {
		stopReap()
		<-reaped
	}
	var err error
	if c != nil && started {
		if err = c.Stop(ctx); err != nil {
			cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			err = c.StopAndCancel(cctx)
			cancel()
		}
	}
	if q.riverDB != nil {
		_ = q.riverDB.Close()
	}
	return err
}

// riverClient builds the River client on first use, once every handler is
// registered.
func (q *Queue) riverClient() (client, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.client != nil {
		return q.client, nil
	}
	workers := river.NewWorkers()
	w := &worker{q: q}
	for kind := range q.handlers {
		river.AddWorkerArgs(workers, task{kind: kind}, w)
	}
	var periodic []*river.PeriodicJob
	for i, p := range q.opts.Periodic {
		var sched river.PeriodicSchedule
		// Unique per period: even if two instances briefly both believed
		// they led, one run per period is inserted.
		period := time.Minute
		if p.Every > 0 {
			sched, period = river.PeriodicInterval(p.Every), p.Every
		} else {
			cs, err := ParseCron(p.Cron)
			if err != nil {
				return nil, fmt.Errorf("jobs: schedule %q for %s: %w", p.Cron, p.Kind, err)
			}
			sched, period = utcSchedule{cs}, uniquePeriod(cs, time.Now())
		}
		raw, err := marshalPayload(p.Payload)
		if err != nil {
			return nil, err
		}
		kind := p.Kind
		periodic = append(periodic, river.NewPeriodicJob(sched, func() (river.JobArgs, *river.InsertOpts) {
			return task{kind: kind, Payload: raw}, &river.InsertOpts{MaxAttempts: 3, UniqueOpts: river.UniqueOpts{ByPeriod: period}}
		}, &river.PeriodicJobOpts{ID: fmt.Sprintf("%s.%d", kind, i)}))
	}
	cfg := &river.Config{
		Queues:               map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: q.opts.Workers}},
		Workers:              workers,
		PeriodicJobs:         periodic,
		Logger:               slog.New(quietHandler{q.log.Handler()}).With("component", "river"),
		FetchPollInterval:    q.opts.PollInterval,
		JobTimeout:           6 * time.Hour,
		RescueStuckJobsAfter: 7 * time.Hour,
	}
	if len(q.handlers) == 0 {
		cfg.Queues, cfg.Workers = nil, nil // insert-only client
	}
	var err error
	if pool := q.db.Pool(); pool != nil {
		q.client, err = river.NewClient[pgx.Tx](riverpgxv5.New(pool), cfg)
	} else {
		if q.riverDB == nil {
			if q.riverDB, err = q.db.OpenSingleConnection(); err != nil {
				return nil, err
			}
		}
		q.client, err = river.NewClient[*sql.Tx](riversqlite.New(q.riverDB), cfg)
	}
	if err != nil {
		return nil, fmt.Errorf("jobs: river client: %w", err)
	}
	return q.client, nil
}

func marshalPayload(v any) (json.RawMessage, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("jobs: encode payload: %w", err)
	}
	return raw, nil
}

// quietHandler keeps River's routine information (job counts every few
// seconds) out of the product's log; its warnings and errors pass.
type quietHandler struct{ slog.Handler }

func (h quietHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn && h.Handler.Enabled(ctx, l)
}

func (h quietHandler) WithAttrs(a []slog.Attr) slog.Handler {
	return quietHandler{h.Handler.WithAttrs(a)}
}
func (h quietHandler) WithGroup(n string) slog.Handler { return quietHandler{h.Handler.WithGroup(n)} }

// cronParser reads the five standard fields, or six with seconds first,
// or a descriptor (@daily, @every 10s).
var cronParser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// ParseCron reads a periodic job's schedule: standard five-field cron
// (minute first), six fields with a leading seconds field, or a descriptor
// such as @hourly or @every 30s.
func ParseCron(spec string) (cron.Schedule, error) { return cronParser.Parse(spec) }

// uniquePeriod is the period within which a schedule's run is unique: a
// minute, or a second for a schedule that fires more than once a minute.
// Runs fall on whole seconds, so each is still alone in its period, and a
// second leader computing the same run collides with the first.
func uniquePeriod(s cron.Schedule, now time.Time) time.Duration {
	t := s.Next(now.UTC())
	for range 60 {
		n := s.Next(t)
		if n.IsZero() {
			break
		}
		if n.Sub(t) < time.Minute {
			return time.Second
		}
		t = n
	}
	return time.Minute
}

// utcSchedule reads cron expressions in UTC whatever the server's zone.
type utcSchedule struct{ cron.Schedule }

func (s utcSchedule) Next(t time.Time) time.Time { return s.Schedule.Next(t.UTC()) }

// Migrate creates or updates River's tables; it runs at the product's
// migrate step, after the product's own migrations.
func Migrate(ctx context.Context, db *store.DB) error {
	if pool := db.Pool(); pool != nil {
		m, err := rivermigrate.New(riverpgxv5.New(pool), nil)
		if err != nil {
			return fmt.Errorf("jobs: migrations: %w", err)
		}
		if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
			return fmt.Errorf("jobs: migrate: %w", err)
		}
		return nil
	}
	rdb, err := db.OpenSingleConnection()
	if err != nil {
		return err
	}
	defer rdb.Close()
	m, err := rivermigrate.New(riversqlite.New(rdb), nil)
	if err != nil {
		return fmt.Errorf("jobs: migrations: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("jobs: migrate: %w", err)
	}
	return nil
}
