-- +goose Up
-- A deleted user's customer and staff records are unlinked by the
-- application, in the transaction that deletes the user, instead of by
-- ON DELETE SET NULL (user_id): Citus refuses SET NULL and SET DEFAULT on a
-- foreign key that includes the distribution column, and so refused these
-- two tables and the seven that reference them. The references stay
-- composite on restaurant_id; a user still linked to a record cannot be
-- deleted by anything that skips the unlinking.
ALTER TABLE customers DROP CONSTRAINT customers_restaurant_id_user_id_fkey;
ALTER TABLE customers ADD CONSTRAINT customers_restaurant_id_user_id_fkey
    FOREIGN KEY (restaurant_id, user_id) REFERENCES users (restaurant_id, id);
ALTER TABLE staff_members DROP CONSTRAINT staff_members_restaurant_id_user_id_fkey;
ALTER TABLE staff_members ADD CONSTRAINT staff_members_restaurant_id_user_id_fkey
    FOREIGN KEY (restaurant_id, user_id) REFERENCES users (restaurant_id, id);

-- +goose Down
ALTER TABLE customers DROP CONSTRAINT customers_restaurant_id_user_id_fkey;
ALTER TABLE customers ADD CONSTRAINT customers_restaurant_id_user_id_fkey
    FOREIGN KEY (restaurant_id, user_id) REFERENCES users (restaurant_id, id) ON DELETE SET NULL (user_id);
ALTER TABLE staff_members DROP CONSTRAINT staff_members_restaurant_id_user_id_fkey;
ALTER TABLE staff_members ADD CONSTRAINT staff_members_restaurant_id_user_id_fkey
    FOREIGN KEY (restaurant_id, user_id) REFERENCES users (restaurant_id, id) ON DELETE SET NULL (user_id);
