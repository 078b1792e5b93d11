// Package flags owns feature flags: the seed's evaluation rule, platform
// defaults with tenant overrides, weighted A/B variants, an in-process cache
// that answers without allocating, evaluation counters and the propagation
// of changes to every instance.
package flags

import (
	"context"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// Flags the product itself reads.
const (
	// AdvancedAnalytics switches the analytics page from the basic to the
	// advanced dashboard.
	AdvancedAnalytics = "advanced_analytics"
)

// Reason tells why an evaluation came out as it did (the OpenFeature
// reasons).
type Reason string

const (
	// Static: an enabled flag without a percentage.
	Static Reason = "STATIC"
	// Split: the entity's hash bucket decided (percentage rollout, variant).
	Split Reason = "SPLIT"
	// Disabled: the flag exists and is off.
	Disabled Reason = "DISABLED"
	// Default: a rollout flag asked without an entity id answers false.
	Default Reason = "DEFAULT"
	// TargetingMatch: the development-mode super_admin bypass.
	TargetingMatch Reason = "TARGETING_MATCH"
)

// Result is one evaluation.
type Result struct {
	Key     string
	Found   bool // false: no such flag for the tenant, the value is false
	Value   bool
	Variant string // the A/B variant when the flag has variants and is on
	Reason  Reason
	// Global is set when the platform default answered (the tenant has no
	// row of its own).
	Global bool
	// NeedsEntity is set when the flag needs an entity id to decide (a
	// percentage rollout or variants) and none was given.
	NeedsEntity bool
	// HasVariants tells an A/B flag from an on/off one.
	HasVariants bool
	// Configuration is the flag's JSON configuration.
	Configuration []byte
}

// EvaluateAll evaluates every flag of the tenant in ctx, by key. These
// evaluations are not counted: a client fetching every flag says nothing
// about which ones its code still reads.
func (s *Service) EvaluateAll(ctx context.Context, entityID string) []Result {
	tid, ok := tenancy.Tenant(ctx)
	if !ok {
		return nil
	}
	snap := s.snapshot(ctx, tid)
	out := make([]Result, 0, len(snap.all))
	for _, e := range snap.all {
		out = append(out, e.evaluate(entityID))
	}
	return out
}

// Options configure a Service.
type Options struct {
	Log *slog.Logger
	// DevBypass makes every flag true for a super_admin, as the seed does in
	// development. Never on in production.
	DevBypass bool
	// ReloadInterval drops every cached snapshot periodically, a safety net
	// under the change notifications (default 30 s).
	ReloadInterval time.Duration
	// FlushInterval is how often evaluation counts are written (default 1 min).
	FlushInterval time.Duration
	// PollInterval is how often, on SQLite, the flag tables are checked for
	// changes made by another process (default 1 s).
	PollInterval time.Duration
}

// Service evaluates and changes flags. Evaluations read an immutable
// per-tenant snapshot; changes drop the snapshots they affect, here at once
// and on other instances through the database's notifications.
type Service struct {
	db  *store.DB
	opt Options
	log *slog.Logger
	gen atomic.Uint64 // bumped by every invalidation
	// index is what evaluations read: the published snapshots, rebuilt from
	// byTenant on every change (copy on write).
	index atomic.Pointer[tenantIndex]

	loads    singleflight.Group // one database read per tenant at a time
	mu       sync.Mutex         // guards byTenant, the index writers and the counters map
	byTenant map[string]*snapshot
	counters map[counterKey]*counter

	listenerPID atomic.Uint32 // PostgreSQL backend of the change listener

	stop    context.CancelFunc
	done    sync.WaitGroup
	ready   chan struct{} // closed when the change listener first listens
	started bool
}

// snapshot is one tenant's effective flags: its own rows over the platform
// defaults. Never modified once published.
type snapshot struct {
	flags map[string]*entry
	// few holds the entries when there are at most smallSnapshot of them:
	// scanning a few keys (most differ in length) beats hashing the key.
	few []*entry
	all []*entry // by key
}

const smallSnapshot = 8

// lookup returns the entry of key, or nil.
func (s *snapshot) lookup(key string) *entry {
	if s.few != nil || len(s.flags) == 0 {
		for _, e := range s.few {
			if len(e.key) == len(key) && e.key == key {
				return e
			}
		}
		return nil
	}
	return s.flags[key]
}

type entry struct {
	key      string
	enabled  bool
	hasPct   bool
	pct      uint64
	global   bool
	variants []variant
	total    uint64 // sum of the variants' weights
	count    *counter
	flag     store.FeatureFlag
}

type variant struct {
	key   string
	upper uint64 // cumulative weight: buckets below it (and above the previous) get this variant
}

// New returns a Service over db. Start it to follow changes made by other
// instances and to write evaluation counts.
func New(db *store.DB, opt Options) *Service {
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	if opt.ReloadInterval <= 0 {
		opt.ReloadInterval = 30 * time.Second
	}
	if opt.FlushInterval <= 0 {
		opt.FlushInterval = time.Minute
	}
	if opt.PollInterval <= 0 {
		opt.PollInterval = time.Second
	}
	s := &Service{db: db, opt: opt, log: opt.Log, byTenant: map[string]*snapshot{},
		counters: map[counterKey]*counter{}, ready: make(chan struct{})}
	s.publishLocked()
	return s
}

// Enabled tells whether the flag key is on for entityID in the tenant of
// ctx: the product's own switch (e.g. advanced_analytics).
func (s *Service) Enabled(ctx context.Context, key, entityID string) bool {
	if s.opt.DevBypass {
		return s.Evaluate(ctx, key, entityID).Value
	}
	tid, ok := tenancy.Tenant(ctx)
	if !ok {
		return false
	}
	e := s.snapshot(ctx, tid).lookup(key)
	if e == nil {
		return false
	}
	// The same rule as evaluate, without building a Result: this is the
	// product's hot path.
	on := e.enabled && (!e.hasPct || entityID != "" && mod(rolloutDigest(e.key, entityID), 100) < e.pct)
	if on {
		e.count.t.Add(1)
	} else {
		e.count.f.Add(1)
	}
	return on
}

// Evaluate evaluates the flag key for entityID in the tenant of ctx, exactly
// as the seed does: no flag → false; disabled → false; no percentage →
// enabled; a percentage and no entity → false; else the entity's bucket
// below the percentage. It does not allocate once the tenant is cached.
func (s *Service) Evaluate(ctx context.Context, key, entityID string) Result {
	if s.opt.DevBypass {
		if p, ok := tenancy.PrincipalFrom(ctx); ok && p.Role == tenancy.SuperAdmin {
			return Result{Key: key, Found: true, Value: true, Reason: TargetingMatch}
		}
	}
	tid, ok := tenancy.Tenant(ctx)
	if !ok {
		return Result{Key: key, Reason: Default}
	}
	e := s.snapshot(ctx, tid).lookup(key)
	if e == nil {
		return Result{Key: key, Reason: Default}
	}
	r := e.evaluate(entityID)
	if r.Value {
		e.count.t.Add(1)
	} else {
		e.count.f.Add(1)
	}
	return r
}

func (e *entry) evaluate(entityID string) Result {
	r := Result{Key: e.key, Found: true, Global: e.global, HasVariants: e.total > 0, Configuration: e.flag.Configuration}
	switch {
	case !e.enabled:
		r.Reason = Disabled
		return r
	case !e.hasPct:
		r.Value, r.Reason = true, Static
	case entityID == "":
		r.Reason, r.NeedsEntity = Default, true
		return r
	default:
		r.Value, r.Reason = mod(rolloutDigest(e.key, entityID), 100) < e.pct, Split
		if !r.Value {
			return r
		}
	}
	if e.total > 0 && entityID == "" {
		// On, as the seed's rule says, but no variant without an entity.
		r.NeedsEntity = true
		return r
	}
	if e.total > 0 {
		b := variantBucket(e.key, entityID, e.total)
		for _, v := range e.variants {
			if b < v.upper {
				r.Variant, r.Reason = v.key, Split
				break
			}
		}
	}
	return r
}

// tenantIndex finds a tenant's snapshot by a 64-bit key taken from its id
// (cheaper to look up than the 36-byte string), chaining the rare ids that
// share a key.
type tenantIndex map[uint64]*slot

type slot struct {
	tenant string
	snap   *snapshot
	next   *slot
}

// indexKey is the last 8 bytes of the id (the random tail of a UUIDv7), or
// the whole of a shorter one.
func indexKey(id string) uint64 {
	var k uint64
	if n := len(id); n >= 8 {
		t := id[n-8:]
		return uint64(t[0]) | uint64(t[1])<<8 | uint64(t[2])<<16 | uint64(t[3])<<24 |
			uint64(t[4])<<32 | uint64(t[5])<<40 | uint64(t[6])<<48 | uint64(t[7])<<56
	}
	for i := 0; i < len(id); i++ {
		k = k<<8 | uint64(id[i])
	}
	return k
}

// publishLocked rebuilds the index from byTenant. Caller holds s.mu.
func (s *Service) publishLocked() {
	idx := make(tenantIndex, len(s.byTenant))
	for tid, snap := range s.byTenant {
		k := indexKey(tid)
		idx[k] = &slot{tenant: tid, snap: snap, next: idx[k]}
	}
	s.index.Store(&idx)
}

// snapshot returns the tenant's snapshot, loading it on a miss.
func (s *Service) snapshot(ctx context.Context, tid string) *snapshot {
	for sl := (*s.index.Load())[indexKey(tid)]; sl != nil; sl = sl.next {
		if sl.tenant == tid {
			return sl.snap
		}
	}
	// After a change every request of a busy tenant misses at once; one of
	// them reads the database for all.
	v, _, _ := s.loads.Do(tid, func() (any, error) { return s.load(ctx, tid), nil })
	return v.(*snapshot)
}

var emptySnapshot = &snapshot{flags: map[string]*entry{}}

// load reads the tenant's flags and publishes them, unless a change was
// announced while reading (the rows read may predate it; the next
// evaluation reads again).
func (s *Service) load(ctx context.Context, tid string) *snapshot {
	gen := s.gen.Load()
	tctx := tenancy.WithTenant(context.WithoutCancel(ctx), tid)
	own, err := s.db.FeatureFlags(tctx)
	if err != nil {
		s.log.ErrorContext(ctx, "flags: load tenant flags", "restaurant_id", tid, "err", err)
		return emptySnapshot
	}
	global, err := s.db.GlobalFeatureFlags(tctx)
	if err != nil {
		s.log.ErrorContext(ctx, "flags: load platform flags", "err", err)
		return emptySnapshot
	}
	snap := &snapshot{flags: make(map[string]*entry, len(own)+len(global))}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range global {
		snap.flags[f.Key] = s.newEntry(tid, f)
	}
	for _, f := range own {
		snap.flags[f.Key] = s.newEntry(tid, f)
	}
	for _, e := range snap.flags {
		snap.all = append(snap.all, e)
	}
	sort.Slice(snap.all, func(i, j int) bool { return snap.all[i].key < snap.all[j].key })
	if len(snap.all) <= smallSnapshot {
		snap.few = snap.all
		if snap.few == nil {
			snap.few = []*entry{}
		}
	}
	if s.gen.Load() != gen {
		return snap
	}
	s.byTenant[tid] = snap
	s.publishLocked()
	return snap
}

// newEntry compiles a flag for evaluation. Caller holds s.mu.
func (s *Service) newEntry(tid string, f store.FeatureFlag) *entry {
	e := &entry{key: f.Key, enabled: f.Enabled, global: f.Global, flag: f, count: s.counterLocked(tid, f.Key)}
	if f.Percentage != nil {
		e.hasPct, e.pct = true, uint64(*f.Percentage)
	}
	for _, v := range f.Variants {
		if v.Weight <= 0 {
			continue
		}
		e.total += uint64(v.Weight)
		e.variants = append(e.variants, variant{key: v.Key, upper: e.total})
	}
	return e
}

// Invalidate drops the cached flags of one tenant, or of all tenants for
// store.AllTenants.
func (s *Service) Invalidate(target string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gen.Add(1)
	if target == store.AllTenants {
		clear(s.byTenant)
	} else if _, ok := s.byTenant[target]; ok {
		delete(s.byTenant, target)
	} else {
		return
	}
	s.publishLocked()
}
