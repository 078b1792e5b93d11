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
package jobs

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
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
	q            *Queue

	mu      sync.Mutex
	pending *progressUpdate
	wake    chan struct{}
}

type progressUpdate struct {
	percent int
	message string
}

// Progress records how far the job is (0–100) and what it is doing. The
// write happens in the background, latest value first: a job may hold the
// database's write lock (an import's transaction on SQLite), and reporting
// must neither wait for it nor deadlock on it.
func (r *Run) Progress(_ context.Context, percent int, message string) {
	r.mu.Lock()
	r.pending = &progressUpdate{percent, message}
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// reportProgress writes progress updates until stop closes, then returns
// once any write in flight is done.
func (r *Run) reportProgress(ctx context.Context, stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
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

// Periodic is a job enqueued on a cron schedule (standard 5-field syntax,
// in UTC), or every interval when Every is set.
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
}

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
	return w.q.work(ctx, job.Kind, job.Args, job.Attempt, job.MaxAttempts)
}

func (q *Queue) work(ctx context.Context, kind string, args task, attempt, maxAttempts int) error {
	q.mu.Lock()
	h := q.handlers[kind]
	q.mu.Unlock()
	if args.JobID == "" { // periodic jobs get their record when they start
		args.JobID = store.NewID()
	}
	run := &Run{JobID: args.JobID, Kind: kind, RestaurantID: args.Tenant, Payload: args.Payload, Attempt: attempt, q: q, wake: make(chan struct{}, 1)}
	if h == nil {
		err := fmt.Errorf("no handler for job kind %q", kind)
		_ = q.db.UpdateJob(ctx, run.JobID, kind, run.RestaurantID, string(Failed), 0, err.Error(), nil)
		return river.JobCancel(err)
	}
	if err := q.db.UpdateJob(ctx, run.JobID, kind, run.RestaurantID, string(Running), 0, "started", nil); err != nil {
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

// Get returns a job's record.
func (q *Queue) Get(ctx context.Context, id string) (Job, error) { return q.db.Job(ctx, id) }

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
	return nil
}

// Stop lets running jobs finish until ctx ends, then cancels them, and
// releases River's connection.
func (q *Queue) Stop(ctx context.Context) error {
	q.mu.Lock()
	c, started := q.client, q.started
	q.mu.Unlock()
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
			cs, err := cron.ParseStandard(p.Cron)
			if err != nil {
				return nil, fmt.Errorf("jobs: schedule %q for %s: %w", p.Cron, p.Kind, err)
			}
			sched = utcSchedule{cs}
		}
		raw, err := json.Marshal(p.Payload)
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
