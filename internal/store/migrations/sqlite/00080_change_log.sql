-- +goose Up
-- The change log (see the PostgreSQL migration of the same number). On
-- SQLite the triggers take the transaction and its moment from
-- capture_clock, which the connection wrapper bumps at the start of every
-- write transaction (internal/store/capture_sqlite.go), and off suppresses
-- capture inside an import. Each restaurant's changes are numbered after
-- its highest number (one writer at a time: commit order); WITHOUT ROWID
-- keeps the log one b-tree, in the order it is read.
CREATE TABLE tenant_changes (
    restaurant_id TEXT NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    id            INTEGER NOT NULL,
    tx            TEXT NOT NULL,
    changed_at    TEXT NOT NULL,
    table_name    TEXT NOT NULL,
    op            TEXT NOT NULL CHECK (op IN ('insert', 'update', 'delete', 'import')),
    row_data      TEXT NOT NULL,
    old_data      TEXT,
    PRIMARY KEY (restaurant_id, id)
) WITHOUT ROWID;

CREATE TABLE capture_clock (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    tx  INTEGER NOT NULL,
    at  TEXT NOT NULL,
    off INTEGER NOT NULL
);
INSERT INTO capture_clock (id, tx, at, off) VALUES (1, 0, '', 0);

-- +goose Down
DROP TABLE capture_clock;
DROP TABLE tenant_changes;
