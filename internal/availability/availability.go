// Package availability watches whether the database is there. A Monitor
// pings it in the background a few times a second, so /ready answers from
// memory at once — 503 within a second of the database going away, 200
// within a second of its return — instead of making every probe wait for a
// dead database. A Reporter turns the requests refused meanwhile into one
// counter and at most one log line a second.
package availability

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/metrics"
	"github.com/shimizu-tech/ordersuite/internal/store"
)

// Defaults of Options: a dead database is noticed within Interval+Timeout
// (600 ms), a returning one within the same plus the time it takes to start
// the probe's session (bounded by Connect).
const (
	DefaultInterval      = 200 * time.Millisecond
	DefaultTimeout       = 400 * time.Millisecond
	DefaultConnect       = 2 * time.Second
	defaultSchemaRecheck = 30 * time.Second
)

// Options tune a Monitor.
type Options struct {
	Interval time.Duration // between pings; default 200 ms
	Timeout  time.Duration // for one ping; default 400 ms
	// Connect bounds opening the probe's connection, after a failure or at
	// the start; default 2 s. A database that refuses connections fails at
	// once; one back from an outage on a loaded host may need more than
	// Timeout to start a session, and must still be found up.
	Connect time.Duration
	Log     *slog.Logger
	Metrics *metrics.Metrics
}

// State is what the last check found.
type State struct {
	Checked        bool      // at least one check has run
	DatabaseUp     bool      // the database answered the last ping
	SchemaCurrent  bool      // every migration is applied (as of the last schema check)
	Since          time.Time // when DatabaseUp last changed
	LastError      string    // why the last ping failed, for logs
	ConsecutiveBad int       // failed pings in a row
}

// Ready tells whether the instance should receive traffic.
func (s State) Ready() bool { return s.Checked && s.DatabaseUp && s.SchemaCurrent }

// Monitor keeps the database's State.
type Monitor struct {
	db     *store.DB
	prober *store.Prober
	opt    Options

	mu          sync.RWMutex
	state       State
	schemaAt    time.Time
	stop        context.CancelFunc
	done        chan struct{}
	startedOnce sync.Once
}

// NewMonitor prepares a monitor of db; Start runs it.
func NewMonitor(db *store.DB, opt Options) *Monitor {
	if opt.Interval <= 0 {
		opt.Interval = DefaultInterval
	}
	if opt.Timeout <= 0 {
		opt.Timeout = DefaultTimeout
	}
	if opt.Connect <= 0 {
		opt.Connect = DefaultConnect
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	return &Monitor{db: db, prober: db.NewProber(), opt: opt, done: make(chan struct{})}
}

// Start checks once, so State is known when Start returns, then keeps
// checking in the background until Close.
func (m *Monitor) Start(ctx context.Context) {
	m.startedOnce.Do(func() {
		ctx, m.stop = context.WithCancel(context.WithoutCancel(ctx))
		m.check(ctx)
		go m.run(ctx)
	})
}

// Close stops the checks.
func (m *Monitor) Close() {
	if m.stop == nil {
		return
	}
	m.stop()
	<-m.done
	m.prober.Close()
}

// State returns the latest finding.
func (m *Monitor) State() State {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.state
}

func (m *Monitor) run(ctx context.Context) {
	defer close(m.done)
	t := time.NewTicker(m.opt.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			m.check(ctx)
		}
	}
}

// check pings the database and, when it answers after being away (or
// every 30 s), reads the schema version.
func (m *Monitor) check(ctx context.Context) {
	err := m.prober.Ping(ctx, m.opt.Timeout, m.opt.Connect)
	if ctx.Err() != nil {
		return
	}
	now := time.Now()
	m.mu.Lock()
	prev := m.state
	next := prev
	next.Checked = true
	next.DatabaseUp = err == nil
	if next.DatabaseUp != prev.DatabaseUp || !prev.Checked {
		next.Since = now
	}
	if err != nil {
		next.LastError, next.ConsecutiveBad = err.Error(), prev.ConsecutiveBad+1
	} else {
		next.LastError, next.ConsecutiveBad = "", 0
	}
	recheck := err == nil && (!prev.DatabaseUp || !prev.SchemaCurrent || now.Sub(m.schemaAt) >= defaultSchemaRecheck)
	m.state = next
	m.mu.Unlock()

	if recheck {
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		serr := m.db.CheckSchema(sctx)
		cancel()
		m.mu.Lock()
		switch {
		case serr == nil:
			m.state.SchemaCurrent, m.schemaAt = true, now
		case errors.Is(serr, store.ErrSchemaOutdated):
			m.state.SchemaCurrent, m.schemaAt = false, now
		}
		// Any other failure (the database went away again) leaves the
		// schema finding as it was; the next ping tells.
		next = m.state
		m.mu.Unlock()
	}

	if m.opt.Metrics != nil {
		up := 0.0
		if next.DatabaseUp {
			up = 1
		}
		m.opt.Metrics.DatabaseUp.Set(up)
	}
	switch {
	case prev.Checked && prev.DatabaseUp && !next.DatabaseUp:
		m.opt.Log.Warn("database unreachable; answering 503 until it returns", "err", err)
	case prev.Checked && !prev.DatabaseUp && next.DatabaseUp:
		m.opt.Log.Info("database reachable again", "down_for_ms", now.Sub(prev.Since).Milliseconds())
	case !prev.Checked && !next.DatabaseUp:
		m.opt.Log.Warn("database unreachable", "err", err)
	}
}

// Reporter counts the work refused because the database was unavailable
// (db_unavailable_total, by source) and logs it at most once a second,
// with the number of refusals since the last line, so an outage under load
// writes a handful of warnings instead of one error per request.
type Reporter struct {
	Log     *slog.Logger
	Metrics *metrics.Metrics

	last       atomic.Int64 // unix nanoseconds of the last line
	suppressed atomic.Int64
}

// Report records one refusal by source ("http", "console", "events",
// "jobs") with the error that caused it.
func (r *Reporter) Report(ctx context.Context, source string, err error, attrs ...any) {
	if r == nil {
		return
	}
	if r.Metrics != nil {
		r.Metrics.DBUnavailable.WithLabelValues(source).Inc()
	}
	n := r.suppressed.Add(1)
	now := time.Now().UnixNano()
	last := r.last.Load()
	if now-last < int64(time.Second) || !r.last.CompareAndSwap(last, now) {
		return
	}
	r.suppressed.Add(-n)
	if r.Log == nil {
		return
	}
	args := append([]any{"source", source, "refused_since_last_report", n, "err", err}, attrs...)
	r.Log.WarnContext(ctx, "database unavailable: answering 503", args...)
}
