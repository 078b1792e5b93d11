-- +goose Up
-- The change log's rows no longer reference restaurants: the foreign key
-- cost a referential check and a lock of the restaurant's row for every
-- logged row. DeleteRestaurant deletes the restaurant's log in its own
-- transaction instead, and the capture never logs a row of a restaurant
-- that is gone (a tenant row's own foreign key holds the restaurant, and a
-- delete is logged only while the restaurant exists).
ALTER TABLE tenant_changes DROP CONSTRAINT tenant_changes_restaurant_id_fkey;
-- Likewise the check of op: PostgreSQL prepares a table's check constraints
-- for every statement that inserts, and the capture inserts one row per
-- statement. Only the capture trigger (insert, update, delete) and the
-- import marker (import) write op.
ALTER TABLE tenant_changes DROP CONSTRAINT tenant_changes_op_check;

-- +goose Down
ALTER TABLE tenant_changes ADD CONSTRAINT tenant_changes_op_check CHECK (op IN ('insert', 'update', 'delete', 'import'));
DELETE FROM tenant_changes c WHERE NOT EXISTS (SELECT 1 FROM restaurants r WHERE r.id = c.restaurant_id);
ALTER TABLE tenant_changes ADD CONSTRAINT tenant_changes_restaurant_id_fkey
    FOREIGN KEY (restaurant_id) REFERENCES restaurants (id) ON DELETE CASCADE;
