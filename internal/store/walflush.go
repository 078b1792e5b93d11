package store

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Flushing the WAL once for many orders (PostgreSQL).
//
// An order is written by a statement committed without waiting for the
// disk, then made durable by a flush before it is answered. Each flush is a
// transaction of its own on the server, and at ten restaurants, where
// orders rarely share a group, it was half of an order's round trips. So
// this process sends at most one flush at a time: callers that arrive while
// one is in flight wait for the next, which the first of them sends for
// them all. That flush starts after each of them committed, so it covers
// every one; the one in flight may have started before, so it covers none
// of them for certain.

// walFlushTimeout bounds a flush sent for several callers: it runs to its
// end whichever caller's request goes away, since the others wait on it.
const walFlushTimeout = 30 * time.Second

type walFlushes struct {
	mu      sync.Mutex
	busy    bool // a flush is in flight
	waiting []*walFlushWaiter
	// sent and served count the flushes sent and the callers they served.
	sent, served atomic.Int64
}

type walFlushWaiter struct {
	lead chan []*walFlushWaiter // the group to flush for, when this caller sends it
	done chan struct{}
	err  error
}

// flushWAL returns once everything this process committed before the call
// is on disk: it commits a transaction that writes a WAL record (a logical
// message no one reads) with synchronous commit, and PostgreSQL flushes
// the WAL up to that commit, which follows every earlier one. Concurrent
// callers share one flush.
func (db *DB) flushWAL(ctx context.Context) error {
	f := db.flushes
	w := &walFlushWaiter{lead: make(chan []*walFlushWaiter, 1), done: make(chan struct{})}
	f.mu.Lock()
	if !f.busy {
		f.busy = true
		f.mu.Unlock()
		db.sendFlush(ctx, []*walFlushWaiter{w})
		return w.err
	}
	f.waiting = append(f.waiting, w)
	f.mu.Unlock()
	select {
	case group := <-w.lead:
		db.sendFlush(ctx, group)
	case <-w.done:
	}
	<-w.done
	return w.err
}

// sendFlush flushes for group, hands the next flush to the callers that
// arrived meanwhile, and answers group.
func (db *DB) sendFlush(ctx context.Context, group []*walFlushWaiter) {
	f := db.flushes
	if len(group) > 1 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), walFlushTimeout)
		defer cancel()
	}
	_, err := db.sql.ExecContext(ctx, `SELECT pg_logical_emit_message(true, 'ordersuite', '')`)
	err = wrap("flush the order to disk", err)
	f.sent.Add(1)
	f.served.Add(int64(len(group)))
	f.mu.Lock()
	if len(f.waiting) == 0 {
		f.busy = false
	} else {
		next := f.waiting
		f.waiting = nil
		next[0].lead <- next
	}
	f.mu.Unlock()
	for _, w := range group {
		w.err = err
		close(w.done)
	}
}

// WALFlushes returns how many WAL flushes were sent and how many callers
// they served (PostgreSQL).
func (db *DB) WALFlushes() (sent, served int64) {
	return db.flushes.sent.Load(), db.flushes.served.Load()
}
