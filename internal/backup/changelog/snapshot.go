package changelog

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Snapshot is a PostgreSQL transaction snapshot (pg_current_snapshot() as
// text, "xmin:xmax:xip,xip,…"): which transactions had committed when it was
// taken.
type Snapshot struct {
	Xmin, Xmax uint64
	// Xip are the transactions in progress then, ascending.
	Xip []uint64
}

// ParseSnapshot reads the text form of pg_snapshot.
func ParseSnapshot(s string) (Snapshot, error) {
	parts := strings.Split(s, ":")
	if len(parts) != 3 {
		return Snapshot{}, fmt.Errorf("snapshot %q is not xmin:xmax:xip", s)
	}
	var snap Snapshot
	var err error
	if snap.Xmin, err = strconv.ParseUint(parts[0], 10, 64); err != nil {
		return Snapshot{}, fmt.Errorf("snapshot %q: xmin: %w", s, err)
	}
	if snap.Xmax, err = strconv.ParseUint(parts[1], 10, 64); err != nil {
		return Snapshot{}, fmt.Errorf("snapshot %q: xmax: %w", s, err)
	}
	if snap.Xmax < snap.Xmin {
		return Snapshot{}, fmt.Errorf("snapshot %q: xmax is below xmin", s)
	}
	if parts[2] != "" {
		for _, f := range strings.Split(parts[2], ",") {
			x, err := strconv.ParseUint(f, 10, 64)
			if err != nil {
				return Snapshot{}, fmt.Errorf("snapshot %q: xip: %w", s, err)
			}
			if x < snap.Xmin || x >= snap.Xmax {
				return Snapshot{}, fmt.Errorf("snapshot %q: in-progress %d outside [xmin, xmax)", s, x)
			}
			snap.Xip = append(snap.Xip, x)
		}
		slices.Sort(snap.Xip)
	}
	return snap, nil
}

// Visible says whether a transaction that committed is seen by the
// snapshot: it finished before xmin, or before xmax and was not in progress
// (PostgreSQL's XidInMVCCSnapshot, for committed transactions).
func (s Snapshot) Visible(xid uint64) bool {
	if xid < s.Xmin {
		return true
	}
	if xid >= s.Xmax {
		return false
	}
	_, found := slices.BinarySearch(s.Xip, xid)
	return !found
}
