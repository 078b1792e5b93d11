package storetest

import (
	"context"
	"database/sql"
	"testing"

	"github.com/shimizu-tech/ordersuite/internal/store"
)

// PoolSize is how many connections db's pool opens at most.
func PoolSize(db *store.DB) int {
	if db.Pool() != nil {
		return int(db.Pool().Config().MaxConns)
	}
	return db.SQL().Stats().MaxOpenConnections
}

// HoldConnections takes n of db's pooled connections, as requests that
// are busy elsewhere would, until release is called (or the test ends).
// Tests use it to leave a write fewer connections than it might ask for.
func HoldConnections(tb testing.TB, db *store.DB, n int) (release func()) {
	tb.Helper()
	held := make([]*sql.Conn, 0, n)
	release = func() {
		for _, c := range held {
			c.Close()
		}
		held = nil
	}
	tb.Cleanup(release)
	for range n {
		c, err := db.SQL().Conn(context.Background())
		if err != nil {
			release()
			tb.Fatal(err)
		}
		held = append(held, c)
	}
	return release
}
