package analytics

import (
	"strings"
	"sync"
	"time"
)

// LoginBursts notices repeated failed logins for one e-mail address: the
// Threshold-th failure within Window reports a burst, once, and the count
// starts again. State is per process; with several instances each sees its
// share of the attempts, so the effective threshold is per instance.
type LoginBursts struct {
	Threshold int
	Window    time.Duration

	mu       sync.Mutex
	failures map[string][]time.Time
}

// maxTracked bounds memory under a spray of distinct addresses.
const maxTracked = 100000

// Failed records a failed login for email at now and reports whether it
// completes a burst.
func (b *LoginBursts) Failed(email string, now time.Time) (burst bool, failures int) {
	key := strings.ToLower(strings.TrimSpace(email))
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.failures == nil {
		b.failures = map[string][]time.Time{}
	}
	if len(b.failures) >= maxTracked {
		b.forgetBefore(now.Add(-b.Window))
		if len(b.failures) >= maxTracked {
			b.failures = map[string][]time.Time{}
		}
	}
	recent := b.failures[key][:0:0]
	for _, t := range b.failures[key] {
		if now.Sub(t) < b.Window {
			recent = append(recent, t)
		}
	}
	recent = append(recent, now)
	if len(recent) >= b.Threshold {
		delete(b.failures, key)
		return true, len(recent)
	}
	b.failures[key] = recent
	return false, len(recent)
}

func (b *LoginBursts) forgetBefore(cutoff time.Time) {
	for k, ts := range b.failures {
		if len(ts) == 0 || ts[len(ts)-1].Before(cutoff) {
			delete(b.failures, k)
		}
	}
}
