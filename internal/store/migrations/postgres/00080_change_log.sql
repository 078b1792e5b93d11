-- +goose Up
-- The change log: every committed change to a restaurant's rows, written by
-- triggers in the transaction that made it (the triggers and their function
-- are made by the migrate step from the catalog, see internal/store/capture.go).
-- id is the change's sequence number (Change.Seq): increasing, and between
-- two changes to one row in commit order. tx is the transaction
-- (pg_current_xact_id); a transaction's moment is the latest changed_at of
-- its changes. row_data is the row after the change, or the deleted row;
-- old_data, for an update, the previous values of the columns it changed.
-- An 'import' row marks a restore or import of the restaurant, whose own
-- writes are not logged: the log cannot be replayed across it.
CREATE TABLE tenant_changes (
    restaurant_id UUID NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    id            BIGSERIAL NOT NULL,
    tx            TEXT NOT NULL,
    changed_at    TIMESTAMPTZ NOT NULL,
    table_name    TEXT NOT NULL,
    op            TEXT NOT NULL CHECK (op IN ('insert', 'update', 'delete', 'import')),
    row_data      JSONB NOT NULL,
    old_data      JSONB,
    PRIMARY KEY (restaurant_id, id)
);

-- +goose Down
DROP TABLE tenant_changes;
