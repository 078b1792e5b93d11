package store

import "time"

// The change log: every committed change to a tenant's rows, recorded by
// triggers in the transaction that made it, so that a restaurant can be
// brought back to any moment: its newest full archive before that moment,
// then the changes made after the archive's snapshot, replayed in order.

// Change is one row changed in one transaction. Row images are in archive
// form (the values an archive's table file holds for the row, decoded from
// JSON with numbers as json.Number), so a change replays through the same
// conversions as an archive's rows.
type Change struct {
	// Seq orders a restaurant's changes: within a transaction in statement
	// order, and between two transactions that touched the same row in
	// commit order. (PostgreSQL numbers every restaurant's changes from one
	// sequence, SQLite each restaurant's on its own.)
	Seq          int64  `json:"seq"`
	RestaurantID string `json:"restaurant_id"`
	// Tx identifies the transaction; every change of one transaction has
	// the same Tx and the same TxAt.
	Tx string `json:"tx"`
	// TxAt is the transaction's moment: restoring to T replays exactly the
	// transactions whose TxAt is at or before T, never part of one.
	TxAt  time.Time `json:"tx_at"`
	Table string    `json:"table"`
	Op    ChangeOp  `json:"op"`
	// Row is the row after the change (insert, update) or the deleted row
	// (delete).
	Row map[string]any `json:"row"`
	// Old holds, for an update, the previous values of the columns it
	// changed: with Row, enough to undo the change.
	Old map[string]any `json:"old,omitempty"`
}

// ChangeOp is what a change did to its row.
type ChangeOp string

const (
	OpInsert ChangeOp = "insert"
	OpUpdate ChangeOp = "update"
	OpDelete ChangeOp = "delete"
)

// LogPosition is where in the change log a tenant snapshot was read: the
// changes it reflects and those it does not. An archive records the
// position of its snapshot, and a restore to a later moment replays every
// change the position says the archive does not hold.
type LogPosition struct {
	// Engine is the engine the position is meaningful on.
	Engine Engine `json:"engine"`
	// Snapshot is PostgreSQL's transaction snapshot (pg_current_snapshot()
	// as text): a change belongs to the archive when its transaction is
	// visible in it.
	Snapshot string `json:"snapshot,omitempty"`
	// Seq is SQLite's: one writer at a time, so the archive holds exactly
	// the restaurant's changes numbered up to Seq.
	Seq int64 `json:"seq,omitempty"`
	// At is a moment read once the snapshot was taken: every transaction
	// the archive holds has its moment (TxAt) before At. An archive is a
	// base for restoring to T only when At is at or before T; one read
	// later may hold changes made after T.
	At time.Time `json:"at"`
}
