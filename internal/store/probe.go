package store

import (
	"context"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// Prober checks that the database answers, on a connection of its own
// where the engine is a server: a pool busy with requests must not read
// as an outage, and an outage must not wait behind them.
type Prober struct {
	db   *DB
	mu   sync.Mutex
	conn *pgx.Conn // PostgreSQL: the probe's connection, nil until made or after a failure
}

// NewProber returns a prober of db; Close it when done.
func (db *DB) NewProber() *Prober { return &Prober{db: db} }

// Ping answers nil when the database answers within timeout. Opening the
// probe's connection (the first ping, or the first after a failure) may
// take up to connect instead: a database coming back under load can take
// longer to start a session than to answer on one, and a ping cut off while
// it connects would keep reading it as down after it is back. A failed
// connection is dropped and made again on the next ping.
func (p *Prober) Ping(ctx context.Context, timeout, connect time.Duration) error {
	if p.db.pool == nil {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		return p.db.sql.PingContext(ctx)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conn == nil {
		cctx, cancel := context.WithTimeout(ctx, max(connect, timeout))
		conn, err := pgx.ConnectConfig(cctx, p.db.pool.Config().ConnConfig.Copy())
		cancel()
		if err != nil {
			return wrap("probe connect", err)
		}
		p.conn = conn
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := p.conn.Ping(ctx); err != nil {
		p.conn.Close(context.WithoutCancel(ctx)) //nolint:errcheck // the connection is being dropped
		p.conn = nil
		return wrap("probe ping", err)
	}
	return nil
}

// Close ends the probe's connection.
func (p *Prober) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conn != nil {
		p.conn.Close(context.Background()) //nolint:errcheck // closing
		p.conn = nil
	}
}
