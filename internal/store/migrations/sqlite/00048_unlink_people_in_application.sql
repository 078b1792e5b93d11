-- +goose Up
-- A deleted user's customer and staff records are unlinked by the
-- application, in the transaction that deletes the user, as on PostgreSQL
-- (where ON DELETE SET NULL had to go for Citus). The foreign keys here were
-- always plain composite references, so no table is rebuilt: only the
-- trigger that did the unlinking goes, and both engines now behave alike.
DROP TRIGGER users_unlink_people;

-- +goose Down
-- +goose StatementBegin
CREATE TRIGGER users_unlink_people BEFORE DELETE ON users
BEGIN
    UPDATE customers SET user_id = NULL WHERE restaurant_id = OLD.restaurant_id AND user_id = OLD.id;
    UPDATE staff_members SET user_id = NULL WHERE restaurant_id = OLD.restaurant_id AND user_id = OLD.id;
END;
-- +goose StatementEnd
