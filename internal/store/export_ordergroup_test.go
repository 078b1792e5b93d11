package store

import "context"

// OrderGroupWaiting is how many plain orders of the restaurant wait for
// its placement statement in flight.
func (db *DB) OrderGroupWaiting(restaurantID string) int {
	db.groups.mu.Lock()
	defer db.groups.mu.Unlock()
	if q := db.groups.queues[restaurantID]; q != nil {
		return len(q.waiting)
	}
	return 0
}

// FlushWAL is flushWAL, for the tests of shared flushes.
func (db *DB) FlushWAL(ctx context.Context) error { return db.flushWAL(ctx) }
