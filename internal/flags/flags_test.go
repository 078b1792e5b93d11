package flags_test

import (
	"bufio"
	"context"
	"crypto/md5"
	"errors"
	"math/big"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/apperr"
	"github.com/shimizu-tech/ordersuite/internal/flags"
	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/storetest"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// TestBucketsMatchIndependentTable checks Bucket against triples computed by
// testdata/gen_buckets.sh with md5sum and python3, not with Go.
func TestBucketsMatchIndependentTable(t *testing.T) {
	t.Parallel()
	f, err := os.Open("testdata/buckets.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.Split(sc.Text(), " ")
		if len(parts) != 3 {
			t.Fatalf("malformed line %q", sc.Text())
		}
		want, err := strconv.Atoi(parts[2])
		if err != nil {
			t.Fatal(err)
		}
		if got := flags.Bucket(parts[0], parts[1]); got != want {
			t.Errorf("Bucket(%q, %q) = %d, want %d", parts[0], parts[1], got, want)
		}
		n++
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if n < 50 {
		t.Fatalf("only %d triples in the table; want at least 50", n)
	}
}

// bigBucket is the seed's arithmetic with arbitrary precision.
func bigBucket(key, entity string) int {
	sum := md5.Sum([]byte(key + ":" + entity))
	v := new(big.Int).SetBytes(sum[:])
	return int(v.Mod(v, big.NewInt(100)).Int64())
}

func FuzzBucket(f *testing.F) {
	f.Add("new_order_ui", "42")
	f.Add("k", strings.Repeat("x", 500))
	f.Fuzz(func(t *testing.T, key, entity string) {
		if got, want := flags.Bucket(key, entity), bigBucket(key, entity); got != want {
			t.Fatalf("Bucket(%q, %q) = %d, big.Int says %d", key, entity, got, want)
		}
	})
}

type fixture struct {
	db  *store.DB
	svc *flags.Service
	a   context.Context // tenant A, acting as its super_admin
	b   context.Context
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	db := storetest.Open(t)
	ctx := context.Background()
	ra, err := db.CreateRestaurant(ctx, "Alpha", "AA")
	if err != nil {
		t.Fatal(err)
	}
	rb, err := db.CreateRestaurant(ctx, "Beta", "BB")
	if err != nil {
		t.Fatal(err)
	}
	svc := flags.New(db, flags.Options{})
	t.Cleanup(svc.Close)
	op := tenancy.WithPrincipal(ctx, tenancy.Principal{UserID: store.NewID(), Role: tenancy.SuperAdmin})
	return fixture{db: db, svc: svc, a: tenancy.WithTenant(op, ra.ID), b: tenancy.WithTenant(op, rb.ID)}
}

func pct(n int) *int { return &n }

func TestEvaluationFollowsTheSeed(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	on, off := true, false
	mustCreate := func(key string, c flags.Change) {
		t.Helper()
		if _, err := fx.svc.Create(fx.a, key, false, c); err != nil {
			t.Fatal(err)
		}
	}
	mustCreate("plain_on", flags.Change{Enabled: &on})
	mustCreate("plain_off", flags.Change{Enabled: &off})
	mustCreate("half", flags.Change{Enabled: &on, Percentage: pct(50)})
	mustCreate("half_disabled", flags.Change{Enabled: &off, Percentage: pct(50)})
	mustCreate("zero", flags.Change{Enabled: &on, Percentage: pct(0)})
	mustCreate("all", flags.Change{Enabled: &on, Percentage: pct(100)})

	cases := []struct {
		key, entity string
		want        bool
		reason      flags.Reason
	}{
		{"missing", "", false, flags.Default},
		{"plain_on", "", true, flags.Static},
		{"plain_on", "x", true, flags.Static},
		{"plain_off", "x", false, flags.Disabled},
		{"half", "", false, flags.Default},
		{"half_disabled", "user-1", false, flags.Disabled},
		{"zero", "user-1", false, flags.Split},
		{"all", "user-1", true, flags.Split},
	}
	for _, c := range cases {
		r := fx.svc.Evaluate(fx.a, c.key, c.entity)
		if r.Value != c.want || r.Reason != c.reason {
			t.Errorf("%s/%q = %v %s, want %v %s", c.key, c.entity, r.Value, r.Reason, c.want, c.reason)
		}
	}
	// The allocation-free Enabled and the detailed Evaluate agree everywhere.
	for _, key := range []string{"missing", "plain_on", "plain_off", "half", "half_disabled", "zero", "all"} {
		for _, entity := range []string{"", "user-1", "user-2", "42", strings.Repeat("z", 300)} {
			if a, b := fx.svc.Enabled(fx.a, key, entity), fx.svc.Evaluate(fx.a, key, entity).Value; a != b {
				t.Errorf("%s/%q: Enabled %v, Evaluate %v", key, entity, a, b)
			}
		}
	}
	// The percentage decides by the entity's bucket, for every entity.
	in := 0
	for i := range 1000 {
		id := "user-" + strconv.Itoa(i)
		want := bigBucket("half", id) < 50
		if got := fx.svc.Enabled(fx.a, "half", id); got != want {
			t.Fatalf("half/%s = %v, want %v", id, got, want)
		}
		if want {
			in++
		}
	}
	if in < 400 || in > 600 {
		t.Errorf("%d of 1000 entities in a 50%% rollout", in)
	}
	// Another tenant has none of these flags.
	if fx.svc.Enabled(fx.b, "plain_on", "") {
		t.Error("tenant B sees tenant A's flag")
	}
}

func TestGlobalDefaultAndTenantOverride(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	if _, err := fx.svc.Enable(fx.a, "advanced_analytics", true, nil); err != nil {
		t.Fatal(err)
	}
	if !fx.svc.Enabled(fx.a, "advanced_analytics", "") || !fx.svc.Enabled(fx.b, "advanced_analytics", "") {
		t.Fatal("the platform default does not reach every tenant")
	}
	if r := fx.svc.Evaluate(fx.a, "advanced_analytics", ""); !r.Global {
		t.Error("result does not say the platform default answered")
	}
	// A's own row wins over the default, in both directions.
	if _, err := fx.svc.Disable(fx.a, "advanced_analytics", false); err != nil {
		t.Fatal(err)
	}
	if fx.svc.Enabled(fx.a, "advanced_analytics", "") {
		t.Error("tenant row (off) lost to the platform default (on)")
	}
	if !fx.svc.Enabled(fx.b, "advanced_analytics", "") {
		t.Error("tenant A's override changed tenant B")
	}
	if _, err := fx.svc.Disable(fx.a, "advanced_analytics", true); err != nil {
		t.Fatal(err)
	}
	if _, err := fx.svc.Enable(fx.a, "advanced_analytics", false, nil); err != nil {
		t.Fatal(err)
	}
	if !fx.svc.Enabled(fx.a, "advanced_analytics", "") || fx.svc.Enabled(fx.b, "advanced_analytics", "") {
		t.Error("tenant row (on) over platform default (off) resolved wrongly")
	}
	// One global row per key: enabling again updates it.
	if _, err := fx.svc.Enable(fx.a, "advanced_analytics", true, pct(30)); err != nil {
		t.Fatal(err)
	}
	l, err := fx.svc.List(fx.b)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Global) != 1 || l.Global[0].Percentage == nil || *l.Global[0].Percentage != 30 {
		t.Fatalf("global rows: %+v", l.Global)
	}
	if _, err := fx.svc.Create(fx.a, "advanced_analytics", true, flags.Change{}); !apperr.Is(err, apperr.Conflict) {
		t.Errorf("duplicate global key: %v, want conflict", err)
	}
	if _, err := fx.svc.Create(fx.a, "advanced_analytics", false, flags.Change{}); !apperr.Is(err, apperr.Conflict) {
		t.Errorf("duplicate tenant key: %v, want conflict", err)
	}
	// Deleting the tenant row brings the default back.
	la, err := fx.svc.List(fx.a)
	if err != nil || len(la.Tenant) != 1 {
		t.Fatalf("tenant rows: %+v %v", la.Tenant, err)
	}
	if _, err := fx.svc.Delete(fx.a, la.Tenant[0].ID); err != nil {
		t.Fatal(err)
	}
	if r := fx.svc.Evaluate(fx.a, "advanced_analytics", "user-1"); !r.Global || r.Reason != flags.Split {
		t.Errorf("after deleting the override: %+v", r)
	}
}

func TestValidation(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	cases := []struct {
		key   string
		c     flags.Change
		field string
	}{
		{"Bad Key", flags.Change{}, "key"},
		{"a:b", flags.Change{}, "key"},
		{"", flags.Change{}, "key"},
		{"ok", flags.Change{Percentage: pct(101)}, "percentage"},
		{"ok", flags.Change{Percentage: pct(-1)}, "percentage"},
		{"ok", flags.Change{Configuration: []byte(`[1,2]`)}, "configuration"},
		{"ok", flags.Change{Configuration: []byte(`"{}"`)}, "configuration"},
		{"ok", flags.Change{Configuration: []byte(`{oops`)}, "configuration"},
		{"ok", flags.Change{Variants: &[]store.FlagVariant{{Key: "a", Weight: 0}}}, "variants"},
		{"ok", flags.Change{Variants: &[]store.FlagVariant{{Key: "a", Weight: 1}, {Key: "a", Weight: 1}}}, "variants"},
		{"ok", flags.Change{Variants: &[]store.FlagVariant{{Key: "a", Weight: -1}}}, "variants"},
	}
	for _, c := range cases {
		_, err := fx.svc.Create(fx.a, c.key, false, c.c)
		var e *apperr.Error
		if !apperr.Is(err, apperr.Invalid) || !asErr(err, &e) || e.Field != c.field {
			t.Errorf("%q %+v: %v, want invalid %s", c.key, c.c, err, c.field)
		}
	}
}

func asErr(err error, target **apperr.Error) bool { return errors.As(err, target) }

func TestVariantsFollowWeights(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	on := true
	vs := []store.FlagVariant{{Key: "control", Weight: 3}, {Key: "treatment", Weight: 1}}
	if _, err := fx.svc.Create(fx.a, "checkout_test", false, flags.Change{Enabled: &on, Variants: &vs}); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for i := range 4000 {
		id := "c-" + strconv.Itoa(i)
		r := fx.svc.Evaluate(fx.a, "checkout_test", id)
		if !r.Value || r.Variant == "" {
			t.Fatalf("%s: %+v", id, r)
		}
		if again := fx.svc.Evaluate(fx.a, "checkout_test", id); again.Variant != r.Variant {
			t.Fatalf("%s changed variant between evaluations", id)
		}
		seen[r.Variant]++
	}
	if c := seen["control"]; c < 2800 || c > 3200 {
		t.Errorf("control got %d of 4000 with weight 3:1 (%v)", c, seen)
	}
}

func TestCountersAndStaleFlags(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	db := storetest.OpenWithClock(t, clock)
	ctx := context.Background()
	r, err := db.CreateRestaurant(ctx, "Alpha", "AA")
	if err != nil {
		t.Fatal(err)
	}
	svc := flags.New(db, flags.Options{})
	a := tenancy.WithTenant(ctx, r.ID)
	on := true
	for _, key := range []string{"used", "unused", "always_on", "mixed"} {
		c := flags.Change{Enabled: &on}
		if key == "mixed" {
			c.Percentage = pct(50)
		}
		if _, err := svc.Create(a, key, false, c); err != nil {
			t.Fatal(err)
		}
	}
	now = now.AddDate(0, 0, 40)
	svc.Enabled(a, "always_on", "")
	for i := range 100 {
		svc.Enabled(a, "mixed", strconv.Itoa(i))
	}
	if err := svc.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	rows, err := db.TenantRows(ctx, "flag_evaluations", r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 {
		t.Fatalf("flag_evaluations rows after flush: %v", rows)
	}
	svc.Enabled(a, "used", "") // still in memory; Stale flushes it
	stale, err := svc.Stale(a, 30)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, s := range stale {
		got[s.Key] = s.Reason
	}
	want := map[string]string{"unused": "never_evaluated", "always_on": "always_true", "used": "always_true"}
	if len(got) != len(want) {
		t.Fatalf("stale = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("stale[%s] = %q, want %q (all %v)", k, got[k], v, got)
		}
	}
	// 31 days later nothing was evaluated within the window.
	now = now.AddDate(0, 0, 31)
	stale, err = svc.Stale(a, 30)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range stale {
		if s.Key == "mixed" && s.Reason != "not_evaluated" {
			t.Errorf("mixed: %s, want not_evaluated", s.Reason)
		}
	}
	if len(stale) != 4 {
		t.Errorf("stale after a quiet month: %+v", stale)
	}
}

func TestDevBypassIsOffByDefault(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	if fx.svc.Enabled(fx.a, "anything", "") {
		t.Fatal("a super_admin sees a missing flag as on without the development bypass")
	}
	dev := flags.New(fx.db, flags.Options{DevBypass: true})
	if r := dev.Evaluate(fx.a, "anything", ""); !r.Value || r.Reason != flags.TargetingMatch {
		t.Errorf("bypass on: %+v", r)
	}
	admin := tenancy.WithPrincipal(fx.a, tenancy.Principal{Role: tenancy.Admin})
	if dev.Enabled(admin, "anything", "") {
		t.Error("the bypass applies to an admin")
	}
}

// TestChangesReachOtherInstances runs two instances on one database: a
// change through one is seen by the other within a second. On PostgreSQL
// the notifications carry it; on SQLite (one server, plus the command line
// as the other process) the poll does.
func TestChangesReachOtherInstances(t *testing.T) {
	t.Parallel()
	url, opts := storetest.NewMigratedDatabase(t)
	ctx := context.Background()
	open := func() *store.DB {
		db, err := store.Open(ctx, url, opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	db1 := open()
	db2 := open()
	r, err := db1.CreateRestaurant(ctx, "Alpha", "AA")
	if err != nil {
		t.Fatal(err)
	}
	a := tenancy.WithTenant(ctx, r.ID)
	// A long reload interval: only the notifications (or the SQLite poll)
	// can explain a fast update.
	opt := flags.Options{ReloadInterval: time.Hour, PollInterval: 200 * time.Millisecond}
	one, two := flags.New(db1, opt), flags.New(db2, opt)
	for _, s := range []*flags.Service{one, two} {
		s.Start(ctx)
		t.Cleanup(s.Close)
		<-s.Ready()
	}
	if two.Enabled(a, "new_order_ui", "") {
		t.Fatal("flag on before it exists")
	}
	steps := []func() error{
		func() error { _, err := one.Enable(a, "new_order_ui", false, nil); return err },
		func() error { _, err := one.Disable(a, "new_order_ui", false); return err },
		func() error { _, err := one.Enable(a, "new_order_ui", true, nil); return err }, // global, tenant row still off
	}
	want := []bool{true, false, false}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(time.Second)
		for two.Enabled(a, "new_order_ui", "") != want[i] {
			if time.Now().After(deadline) {
				t.Fatalf("step %d: the other instance did not see the change within a second", i)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	// A global change reaches a tenant without its own row.
	r2, err := db1.CreateRestaurant(ctx, "Beta", "BB")
	if err != nil {
		t.Fatal(err)
	}
	b := tenancy.WithTenant(ctx, r2.ID)
	if !two.Enabled(b, "new_order_ui", "") {
		t.Fatal("global default not seen")
	}
	if _, err := one.Disable(a, "new_order_ui", true); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Second)
	for two.Enabled(b, "new_order_ui", "") {
		if time.Now().After(deadline) {
			t.Fatal("global change not seen within a second")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestCountsSurviveConcurrentChanges evaluates from several goroutines while
// the cache is being dropped and flushed: no evaluation goes uncounted.
func TestCountsSurviveConcurrentChanges(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	on := true
	if _, err := fx.svc.Create(fx.a, "busy", false, flags.Change{Enabled: &on, Percentage: pct(50)}); err != nil {
		t.Fatal(err)
	}
	const workers, each = 4, 500
	var wg sync.WaitGroup
	trues := make([]int, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if fx.svc.Enabled(fx.a, "busy", strconv.Itoa(w*each+i)) {
					trues[w]++
				}
			}
		}()
	}
	for range 20 {
		fx.svc.Invalidate(store.AllTenants)
		if err := fx.svc.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	if err := fx.svc.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	usage, err := fx.db.FlagUsageSince(fx.a, time.Now().AddDate(0, 0, -1))
	if err != nil {
		t.Fatal(err)
	}
	wantTrue := 0
	for _, n := range trues {
		wantTrue += n
	}
	u := usage["busy"]
	if u.True != int64(wantTrue) || u.True+u.False != workers*each {
		t.Errorf("counted %d true + %d false, want %d true of %d", u.True, u.False, wantTrue, workers*each)
	}
}

// TestListenerReconnects terminates the change listener's connection on the
// server: the instance reconnects and still sees changes within a second.
func TestListenerReconnects(t *testing.T) {
	t.Parallel()
	if storetest.URL() == "" {
		t.Skip("LISTEN/NOTIFY is PostgreSQL's; SQLite has no other instance")
	}
	url, opts := storetest.NewMigratedDatabase(t)
	ctx := context.Background()
	open := func() *store.DB {
		db, err := store.Open(ctx, url, opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	db1, db2 := open(), open()
	r, err := db1.CreateRestaurant(ctx, "Alpha", "AA")
	if err != nil {
		t.Fatal(err)
	}
	a := tenancy.WithTenant(ctx, r.ID)
	one := flags.New(db1, flags.Options{ReloadInterval: time.Hour})
	two := flags.New(db2, flags.Options{ReloadInterval: time.Hour})
	two.Start(ctx)
	t.Cleanup(two.Close)
	<-two.Ready()
	pid := two.ListenerPID()
	if two.Enabled(a, "after_reconnect", "") {
		t.Fatal("on before it exists")
	}
	var killed bool
	if err := db1.SQL().QueryRowContext(ctx, `SELECT pg_terminate_backend($1)`, int64(pid)).Scan(&killed); err != nil || !killed {
		t.Fatalf("terminate listener backend %d: %v %v", pid, killed, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for two.ListenerPID() == pid {
		if time.Now().After(deadline) {
			t.Fatal("listener did not reconnect")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Cache the flag's absence again, so that only a notification received
	// on the new connection can reveal the change.
	if two.Enabled(a, "after_reconnect", "") {
		t.Fatal("on before it exists")
	}
	if _, err := one.Enable(a, "after_reconnect", false, nil); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(time.Second)
	for !two.Enabled(a, "after_reconnect", "") {
		if time.Now().After(deadline) {
			t.Fatal("change not seen within a second after the reconnect")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestTenantsSharingAnIndexKey: two tenant ids with the same last 8
// characters (the cache's index key) keep their own flags.
func TestTenantsSharingAnIndexKey(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	on := true
	if _, err := fx.svc.Create(fx.a, "mine", false, flags.Change{Enabled: &on}); err != nil {
		t.Fatal(err)
	}
	aID, _ := tenancy.Tenant(fx.a)
	twin := "ffffffff-ffff-7fff-bfff-ffff" + aID[len(aID)-8:]
	other := tenancy.WithTenant(context.Background(), twin)
	for range 2 { // the second round reads both from the cache
		if !fx.svc.Enabled(fx.a, "mine", "") {
			t.Fatal("A lost its flag")
		}
		if fx.svc.Enabled(other, "mine", "") {
			t.Fatal("a tenant sharing A's index key sees A's flag")
		}
	}
}

// TestManyFlags covers snapshots too large for the linear scan.
func TestManyFlags(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	for i := range 12 {
		on := i%2 == 0
		if _, err := fx.svc.Create(fx.a, "flag_"+strconv.Itoa(i), false, flags.Change{Enabled: &on}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 12 {
		if got := fx.svc.Enabled(fx.a, "flag_"+strconv.Itoa(i), ""); got != (i%2 == 0) {
			t.Errorf("flag_%d = %v", i, got)
		}
	}
	if fx.svc.Enabled(fx.a, "flag_12", "") {
		t.Error("a missing flag is on")
	}
	if n := len(fx.svc.EvaluateAll(fx.a, "")); n != 12 {
		t.Errorf("EvaluateAll gave %d results", n)
	}
}
