package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/apperr"
)

// IdempotencyKeyTTL is how long the answer to a write made under an
// Idempotency-Key is kept at least; the retention job prunes older ones.
const IdempotencyKeyTTL = 24 * time.Hour

// Reply is the answer a write gave: what a retry of it is answered with.
type Reply struct {
	Status int
	Body   []byte
}

// Idempotent is a write made under an Idempotency-Key. The store keeps the
// write's Reply with the key in the write's own transaction, so the answer
// is kept exactly when the write happened, and a concurrent duplicate
// (same restaurant, caller and key) waits for the first and then fails on
// the key's unique constraint, changing nothing.
type Idempotent struct {
	Key    string // the client's Idempotency-Key
	Caller string // the user the key belongs to, within the restaurant
	// Fingerprint identifies the request (method, path, body): the same key
	// with another request is refused.
	Fingerprint string
	// Reply renders the answer to the write's result (an ordering.Order,
	// payments.Payment or reservations.Reservation).
	Reply func(result any) (Reply, error)
}

type idempotentKey struct{}

// WithIdempotency returns ctx carrying k: the order, payment, refund and
// reservation writes made with it keep their answer under k's key.
func WithIdempotency(ctx context.Context, k *Idempotent) context.Context {
	return context.WithValue(ctx, idempotentKey{}, k)
}

func idempotency(ctx context.Context) *Idempotent {
	k, _ := ctx.Value(idempotentKey{}).(*Idempotent)
	return k
}

// KeyField is how errors about the key name it: the request header.
const KeyField = "Idempotency-Key"

// Replay returns the kept answer to the write made under k's key by k's
// caller in the tenant in ctx; found is false when there is none.
// Errors: Mismatch (Field: Idempotency-Key) when the key was used for
// another request.
func (db *DB) Replay(ctx context.Context, k *Idempotent) (r Reply, found bool, err error) {
	rid, err := tenant(ctx)
	if err != nil {
		return r, false, err
	}
	var fingerprint, body string
	err = db.sql.QueryRowContext(ctx, `SELECT fingerprint, status, body FROM idempotency_keys
		WHERE restaurant_id = $1 AND caller = $2 AND key = $3`, rid, k.Caller, k.Key).Scan(&fingerprint, &r.Status, &body)
	if errors.Is(err, sql.ErrNoRows) {
		return r, false, nil
	}
	if err != nil {
		return r, false, wrap("read idempotency key", err)
	}
	if fingerprint != k.Fingerprint {
		return r, false, &apperr.Error{Code: apperr.Mismatch, Field: KeyField,
			Message: "this Idempotency-Key was already used for a different request"}
	}
	// The order that kept this answer may have committed a moment ago
	// without waiting for the disk (createOrderAtOnce): it is not answered
	// again before it would survive a crash.
	if db.dialect.modifyingCTEs() {
		if err := db.flushWAL(ctx); err != nil {
			return r, false, err
		}
	}
	r.Body = []byte(body)
	return r, true, nil
}

// errKeyTaken means a duplicate of the request holds the key: it committed
// first, or is being written now.
var errKeyTaken = &apperr.Error{Code: apperr.Conflict, Field: KeyField,
	Message: "a request with this Idempotency-Key is in progress; retry it"}

// claimKey reserves the key in ctx, if any, at the start of a write's
// transaction, before anything the write does outside the database (a
// payment gateway): a duplicate waits here for the first to commit and
// then stops. keepReply fills in the answer before the commit.
func (db *DB) claimKey(ctx context.Context, tx *sql.Tx, rid string) (id string, err error) {
	k := idempotency(ctx)
	if k == nil {
		return "", nil
	}
	id = NewID()
	_, err = tx.ExecContext(ctx, `INSERT INTO idempotency_keys (restaurant_id, id, caller, key, fingerprint, status, body, created_at)
		VALUES ($1, $2, $3, $4, $5, 0, '', $6)`, rid, id, k.Caller, k.Key, k.Fingerprint, db.Now())
	if db.isUniqueViolation(err) {
		return "", errKeyTaken
	}
	if err != nil {
		return "", wrap("claim idempotency key", err)
	}
	return id, nil
}

// keepReply stores the answer to result under the key claimKey reserved.
func (db *DB) keepReply(ctx context.Context, tx *sql.Tx, rid, id string, result any) error {
	k := idempotency(ctx)
	if k == nil || id == "" {
		return nil
	}
	r, err := k.Reply(result)
	if err != nil {
		return fmt.Errorf("store: render kept reply: %w", err)
	}
	_, err = tx.ExecContext(ctx, `UPDATE idempotency_keys SET status = $1, body = $2 WHERE restaurant_id = $3 AND id = $4`,
		r.Status, string(r.Body), rid, id)
	return wrap("keep idempotent reply", err)
}

// PruneIdempotencyKeys deletes the answers kept since before cutoff, in
// every tenant; a key may be used again afterwards.
func (db *DB) PruneIdempotencyKeys(ctx context.Context, cutoff time.Time) (int64, error) {
	ids, err := db.strings(ctx, `SELECT id FROM restaurants ORDER BY id`)
	if err != nil {
		return 0, wrap("prune idempotency keys", err)
	}
	var total int64
	for _, rid := range ids {
		res, err := db.sql.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE restaurant_id = $1 AND created_at < $2`, rid, cutoff.UTC())
		if err != nil {
			return total, wrap("prune idempotency keys", err)
		}
		n, _ := res.RowsAffected()
		total += n
	}
	return total, nil
}
