package store

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
