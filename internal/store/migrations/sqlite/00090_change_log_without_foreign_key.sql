-- +goose Up
-- The change log's rows no longer reference restaurants (see the
-- PostgreSQL migration of the same number). SQLite drops a foreign key by
-- making the table again; the rows go through a copy, not a rename, which
-- SQLite would refuse while the capture triggers name the table.
CREATE TABLE tenant_changes_copy AS SELECT * FROM tenant_changes;
DROP TABLE tenant_changes;
CREATE TABLE tenant_changes (
    restaurant_id TEXT NOT NULL,
    id            INTEGER NOT NULL,
    tx            TEXT NOT NULL,
    changed_at    TEXT NOT NULL,
    table_name    TEXT NOT NULL,
    op            TEXT NOT NULL CHECK (op IN ('insert', 'update', 'delete', 'import')),
    row_data      TEXT NOT NULL,
    old_data      TEXT,
    PRIMARY KEY (restaurant_id, id)
) WITHOUT ROWID;
INSERT INTO tenant_changes SELECT restaurant_id, id, tx, changed_at, table_name, op, row_data, old_data FROM tenant_changes_copy;
DROP TABLE tenant_changes_copy;
CREATE INDEX tenant_changes_changed_at_idx ON tenant_changes (changed_at);
CREATE INDEX tenant_changes_restaurant_changed_at_idx ON tenant_changes (restaurant_id, changed_at);

-- +goose Down
CREATE TABLE tenant_changes_copy AS SELECT * FROM tenant_changes;
DROP TABLE tenant_changes;
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
INSERT INTO tenant_changes SELECT restaurant_id, id, tx, changed_at, table_name, op, row_data, old_data FROM tenant_changes_copy
    WHERE restaurant_id IN (SELECT id FROM restaurants);
DROP TABLE tenant_changes_copy;
CREATE INDEX tenant_changes_changed_at_idx ON tenant_changes (changed_at);
CREATE INDEX tenant_changes_restaurant_changed_at_idx ON tenant_changes (restaurant_id, changed_at);
