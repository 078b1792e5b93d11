package flags

import (
	"context"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/store"
)

// Start follows changes made by other instances (PostgreSQL LISTEN/NOTIFY,
// reconnecting after failures), drops every snapshot each ReloadInterval as
// a safety net, and writes evaluation counts each FlushInterval. Close stops
// it.
func (s *Service) Start(ctx context.Context) {
	ctx, s.stop = context.WithCancel(context.WithoutCancel(ctx))
	s.started = true
	s.done.Add(3)
	go func() {
		defer s.done.Done()
		s.listen(ctx)
	}()
	go func() {
		defer s.done.Done()
		s.every(ctx, s.opt.ReloadInterval, func() { s.Invalidate(store.AllTenants) })
	}()
	go func() {
		defer s.done.Done()
		s.every(ctx, s.opt.FlushInterval, func() { s.flushLogged(ctx) })
	}()
}

// Ready is closed once changes of other instances are followed (at once on
// SQLite, where there are none).
func (s *Service) Ready() <-chan struct{} { return s.ready }

// Close stops the background work and writes the counts not yet written.
func (s *Service) Close() {
	if s.started {
		s.stop()
		s.done.Wait()
		s.started = false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s.flushLogged(ctx)
}

func (s *Service) every(ctx context.Context, d time.Duration, fn func()) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fn()
		}
	}
}

func (s *Service) listen(ctx context.Context) {
	if !s.db.SupportsNotify() {
		close(s.ready)
		s.poll(ctx)
		return
	}
	signalled := false
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := s.db.ListenFlagChanges(ctx, func(pid uint32) {
			// Changes made while nobody listened are unknown: start afresh.
			s.Invalidate(store.AllTenants)
			s.listenerPID.Store(pid)
			s.log.Debug("flags: listening for changes", "backend_pid", pid)
			backoff = 100 * time.Millisecond
			if !signalled {
				signalled = true
				close(s.ready)
			}
		}, s.Invalidate)
		if ctx.Err() != nil {
			return
		}
		s.log.Warn("flags: change listener lost its connection; reconnecting", "err", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// poll stands in for notifications on SQLite, where another process (the
// command line) may change flags under a running server: each second it
// compares a fingerprint of the flag tables and starts afresh on a change.
func (s *Service) poll(ctx context.Context) {
	last, _ := s.db.FlagsFingerprint(ctx)
	s.every(ctx, s.opt.PollInterval, func() {
		fp, err := s.db.FlagsFingerprint(ctx)
		if err != nil {
			s.log.Warn("flags: poll for changes", "err", err)
			return
		}
		if fp != last {
			last = fp
			s.Invalidate(store.AllTenants)
		}
	})
}
