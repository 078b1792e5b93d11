-- +goose Up
-- The shipper reads SQLite's change log by seq, on its primary key
-- (restaurant_id, id): within a restaurant the moments never decrease as
-- the seq grows. Each logged row is written to that one b-tree only.
DROP INDEX tenant_changes_changed_at_idx;
DROP INDEX tenant_changes_restaurant_changed_at_idx;

-- +goose Down
CREATE INDEX tenant_changes_changed_at_idx ON tenant_changes (changed_at);
CREATE INDEX tenant_changes_restaurant_changed_at_idx ON tenant_changes (restaurant_id, changed_at);
