package store

import (
	"context"
	"database/sql"
	"sync"
)

// preparedStatements keeps the statements a DB prepares once and runs
// often; database/sql prepares each on a connection the first time it is
// used there and reuses it after.
type preparedStatements struct {
	mu      sync.Mutex
	byQuery map[string]*sql.Stmt
}

// prepared returns the statement for q, preparing it the first time.
// Only fixed texts belong here: every distinct text is kept for the life of
// the DB.
func (db *DB) prepared(ctx context.Context, q string) (*sql.Stmt, error) {
	p := db.stmts
	p.mu.Lock()
	defer p.mu.Unlock()
	if s, ok := p.byQuery[q]; ok {
		return s, nil
	}
	s, err := db.sql.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	p.byQuery[q] = s
	return s, nil
}
