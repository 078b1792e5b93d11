-- +goose Up
-- The change log's index on changed_at alone goes: every logged row wrote
-- it, and its one reader, the shipper's question "which restaurants have
-- changes after the cut", asks each restaurant instead, on the index
-- (restaurant_id, changed_at) (store.ChangedRestaurants).
DROP INDEX IF EXISTS tenant_changes_changed_at_idx;

-- +goose Down
CREATE INDEX IF NOT EXISTS tenant_changes_changed_at_idx ON tenant_changes (changed_at);
