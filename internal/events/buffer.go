package events

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/availability"
	"github.com/shimizu-tech/ordersuite/internal/metrics"
	"github.com/shimizu-tech/ordersuite/internal/store"
)

// BufferOptions size the buffered sink.
type BufferOptions struct {
	// Capacity is how many events wait in memory; beyond it new events are
	// dropped (and counted), so a slow database never slows requests.
	Capacity int
	// BatchSize is the most events written by one statement.
	BatchSize int
	// FlushInterval is how long the writer waits for a batch to fill.
	FlushInterval time.Duration
}

// Check refuses options the buffer cannot honour: a batch larger than the
// buffer could never fill, and would hide events from the depth gauge.
func (o BufferOptions) Check() error {
	o = o.withDefaults()
	if o.BatchSize > o.Capacity {
		return fmt.Errorf("event batch size %d is larger than the event buffer (%d events)", o.BatchSize, o.Capacity)
	}
	return nil
}

func (o BufferOptions) withDefaults() BufferOptions {
	if o.Capacity <= 0 {
		o.Capacity = 10000
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 500
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = 200 * time.Millisecond
	}
	return o
}

// Buffer is the server's sink: Record never touches the database; a writer
// goroutine flushes the queued events in batches. What cannot be queued or
// written is counted in tenant_events_dropped_total and logged.
type Buffer struct {
	db   *store.DB
	m    *metrics.Metrics
	log  *slog.Logger
	opt  BufferOptions
	q    chan store.TenantEvent
	done chan struct{}
	// full tells the writer a batch is waiting in the queue; closing, that
	// the queue is closed. Otherwise it sleeps until the flush interval has
	// passed rather than waking for each event.
	full    chan struct{}
	closing chan struct{}

	// abort ends the retries of a batch the database refuses (Close's
	// deadline passed).
	abort     chan struct{}
	abortOnce sync.Once
	outages   *availability.Reporter

	// mu makes Close and Record agree on whether the queue is open: an
	// event is either queued before the final drain or counted as dropped.
	mu     sync.RWMutex
	closed bool

	lastDropLog atomic.Int64 // unix nanoseconds
	dropsSince  atomic.Int64

	// pending counts the events queued and not yet written or counted as
	// lost: queued or in the writer's batch. It grows before an event is
	// queued and shrinks after its batch is written, so it never reads
	// less than what is waiting (queue length plus the writer's batch
	// would, in the moment between taking an event and counting it).
	pending atomic.Int64
}

// Depth is the number of recorded events not yet written: queued plus
// in the writer's batch. tenant_event_buffer_depth reports it.
func (b *Buffer) Depth() int { return int(b.pending.Load()) }

// NewBuffer makes a buffered sink; Start it before use and Close it to
// flush what remains.
func NewBuffer(db *store.DB, m *metrics.Metrics, log *slog.Logger, opt BufferOptions) *Buffer {
	opt = opt.withDefaults()
	m.EventBufferCapacity.Set(float64(opt.Capacity))
	b := &Buffer{db: db, m: m, log: log, opt: opt,
		q: make(chan store.TenantEvent, opt.Capacity), done: make(chan struct{}), abort: make(chan struct{}),
		full: make(chan struct{}, 1), closing: make(chan struct{}),
		outages: &availability.Reporter{Log: log, Metrics: m}}
	m.ReportEventBufferDepth(b.Depth)
	return b
}

// Start runs the writer until Close.
func (b *Buffer) Start() { go b.run() }

// Record queues the event, or drops and counts it when the queue is full.
//
// The event's id is given by the writer (store.InsertEvents), off the
// request path; a request's own event (RequestData) is encoded without
// reflection and carries its figures to the rollups.
func (b *Buffer) Record(_ context.Context, restaurantID string, t Type, data any) {
	var payload []byte
	var figures *store.RequestFigures
	var err error
	if d, ok := data.(RequestData); ok {
		payload = d.AppendJSON(make([]byte, 0, 192))
		if t == APIRequest {
			figures = d.figures()
		}
	} else {
		payload, err = json.Marshal(data)
	}
	if err != nil || !t.Valid() {
		b.drop("write_failed", restaurantID, t)
		return
	}
	e := store.TenantEvent{RestaurantID: restaurantID, Type: string(t), Data: payload, CreatedAt: b.db.Now(), Figures: figures}
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		b.drop("closed", restaurantID, t)
		return
	}
	b.pending.Add(1)
	select {
	case b.q <- e:
		if len(b.q) >= b.opt.BatchSize-1 {
			select {
			case b.full <- struct{}{}:
			default:
			}
		}
	default:
		b.pending.Add(-1)
		b.drop("buffer_full", restaurantID, t)
	}
}

// drop counts a lost event and logs at most once a second, with the number
// lost since the last line, so a flood of drops does not flood the log.
func (b *Buffer) drop(reason, restaurantID string, t Type) {
	b.m.EventsDropped.WithLabelValues(reason).Inc()
	n := b.dropsSince.Add(1)
	now := time.Now().UnixNano()
	last := b.lastDropLog.Load()
	if now-last < int64(time.Second) || !b.lastDropLog.CompareAndSwap(last, now) {
		return
	}
	b.dropsSince.Add(-n)
	b.log.Warn("tenant events dropped", "reason", reason, "dropped_since_last_report", n,
		"last_restaurant_id", restaurantID, "last_type", t, "capacity", b.opt.Capacity)
}

// Close stops accepting events, writes every queued one, and waits for the
// writer until ctx ends; then a writer still waiting for an unavailable
// database gives up, counting what it could not write.
func (b *Buffer) Close(ctx context.Context) error {
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		close(b.closing)
		close(b.q)
	}
	b.mu.Unlock()
	select {
	case <-b.done:
		return nil
	case <-ctx.Done():
		b.abortOnce.Do(func() { close(b.abort) })
		return ctx.Err()
	}
}

func (b *Buffer) run() {
	defer close(b.done)
	batch := make([]store.TenantEvent, 0, b.opt.BatchSize)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		e, ok := <-b.q
		if !ok {
			return
		}
		batch = append(batch[:0], e)
		// The batch gathers in the queue while the writer sleeps: woken for
		// each event, it cost a goroutine switch per request.
		if len(b.q) < b.opt.BatchSize-1 {
			timer.Reset(b.opt.FlushInterval)
			select {
			case <-timer.C:
			case <-b.full:
			case <-b.closing:
			}
			timer.Stop()
		}
	fill:
		for len(batch) < b.opt.BatchSize {
			select {
			case e, ok := <-b.q:
				if !ok {
					break fill
				}
				batch = append(batch, e)
			default:
				break fill
			}
		}
		b.write(batch)
		b.pending.Add(-int64(len(batch)))
	}
}

// write stores one batch. While the database is unavailable (unreachable,
// or locked beyond its busy timeout) the batch is retried with a growing
// pause, up to maxRetryPause, for as long as it takes: meanwhile new
// events wait in the queue up to its capacity (beyond it they are dropped
// and counted as buffer_full), and all are written once the database is
// back. Only Close's deadline ends the waiting. Any other failure is
// retried once; if the batch still fails (one bad event, say a tenant
// deleted meanwhile) each event is tried alone, so one row does not take
// the others with it. A lost event is counted, never silent.
func (b *Buffer) write(batch []store.TenantEvent) {
	start := time.Now()
	var err error
	pause := 100 * time.Millisecond
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			select {
			case <-time.After(pause):
			case <-b.abort:
				b.m.EventsDropped.WithLabelValues("write_failed").Add(float64(len(batch)))
				b.log.Error("tenant events lost: the database was unavailable until shutdown", "events", len(batch), "err", err)
				return
			}
		}
		if err = b.insert(batch); err == nil {
			b.m.EventsWritten.Add(float64(len(batch)))
			b.m.EventBatchDuration.Observe(time.Since(start).Seconds())
			return
		}
		if b.db.IsUnavailable(err) {
			b.outages.Report(context.Background(), "events", err, "events_waiting", len(batch)+len(b.q))
			pause = min(2*pause, maxRetryPause)
			continue
		}
		if attempt >= 1 {
			break
		}
	}
	lost := 0
	for i := range batch {
		if b.insert(batch[i:i+1]) != nil {
			lost++
			continue
		}
		b.m.EventsWritten.Inc()
	}
	if lost > 0 {
		b.m.EventsDropped.WithLabelValues("write_failed").Add(float64(lost))
		b.log.Error("tenant events lost: write failed", "events", lost, "err", err)
	}
}

// maxRetryPause bounds the pause between writes of a batch while the
// database is unavailable, so the events are written within a second or
// two of its return.
const maxRetryPause = time.Second

func (b *Buffer) insert(batch []store.TenantEvent) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return b.db.InsertEvents(ctx, batch)
}
