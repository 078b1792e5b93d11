package analytics

import (
	"context"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/store"
)

// LoginBursts notices repeated failed logins for one e-mail address: every
// Threshold-th failure within Window reports a burst. The failures are kept
// in the database, so several serve instances count together and exactly one
// of them reports each burst.
type LoginBursts struct {
	DB        *store.DB
	Threshold int
	Window    time.Duration
}

// Failed records a failed login and reports whether it completes a burst,
// with the number of failures for the address within the window so far.
func (b *LoginBursts) Failed(ctx context.Context, email, ip string) (burst bool, failures int, err error) {
	n, err := b.DB.RecordLoginFailure(ctx, email, ip, b.DB.Now().Add(-b.Window))
	if err != nil {
		return false, 0, err
	}
	return b.Threshold > 0 && n%b.Threshold == 0, n, nil
}

// loginFailureRetention bounds the failed-login table; windows are minutes.
const loginFailureRetention = 24 * time.Hour
