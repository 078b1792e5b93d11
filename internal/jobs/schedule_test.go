package jobs_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/jobs"
)

// TestParseCron: the five standard fields keep their meaning (minute
// first); six fields put seconds first; descriptors are accepted.
func TestParseCron(t *testing.T) {
	t.Parallel()
	from := time.Date(2026, 3, 1, 10, 0, 30, 0, time.UTC)
	for spec, want := range map[string]time.Time{
		"0 2 * * *":      time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC),
		"* * * * *":      time.Date(2026, 3, 1, 10, 1, 0, 0, time.UTC),
		"*/10 * * * * *": time.Date(2026, 3, 1, 10, 0, 40, 0, time.UTC),
		"15 * * * * *":   time.Date(2026, 3, 1, 10, 1, 15, 0, time.UTC),
		"@every 5s":      time.Date(2026, 3, 1, 10, 0, 35, 0, time.UTC),
		"@daily":         time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC),
	} {
		s, err := jobs.ParseCron(spec)
		if err != nil {
			t.Errorf("%q: %v", spec, err)
			continue
		}
		if got := s.Next(from); !got.Equal(want) {
			t.Errorf("%q after %s: %s, want %s", spec, from, got, want)
		}
	}
	for _, bad := range []string{"", "* * * *", "61 * * * *", "* * * * * * *", "@every"} {
		if _, err := jobs.ParseCron(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestSecondsScheduleRunsOncePerTick: a schedule with a seconds field
// fires every tick, each tick once — not once a minute, the period a
// five-field schedule's runs are unique within.
func TestSecondsScheduleRunsOncePerTick(t *testing.T) {
	t.Parallel()
	db := open(t)
	ctx := context.Background()
	q := jobs.New(db, jobs.Options{PollInterval: 100 * time.Millisecond,
		Periodic: []jobs.Periodic{{Cron: "* * * * * *", Kind: "test.every_second"}}})
	var runs atomic.Int32
	q.Register("test.every_second", func(context.Context, *jobs.Run) (any, error) { runs.Add(1); return nil, nil })
	start(t, q)
	deadline := time.Now().Add(30 * time.Second)
	for runs.Load() < 3 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := runs.Load(); n < 3 {
		t.Fatalf("%d runs of an every-second schedule in 30 s", n)
	}
	var ticks, inserted int
	if err := db.SQL().QueryRowContext(ctx, `SELECT count(DISTINCT scheduled_at), count(*) FROM river_job WHERE kind = 'test.every_second'`).Scan(&ticks, &inserted); err != nil {
		t.Fatal(err)
	}
	if ticks != inserted {
		t.Errorf("%d runs inserted for %d ticks", inserted, ticks)
	}
}
