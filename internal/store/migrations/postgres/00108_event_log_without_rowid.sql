-- +goose Up
-- Nothing changes on PostgreSQL (SQLite stores its event log in key order
-- from here). The number keeps both engines at the same schema version,
-- which archives record and imports compare.
SELECT 1;

-- +goose Down
SELECT 1;
