-- +goose Up
-- Writes made with an installation API key are audited under the key:
-- actor_role 'api_key', actor_id the key's id and actor_name its name (the
-- name stays readable after the key is revoked). Empty for people.
ALTER TABLE audit_log ADD COLUMN actor_name TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE audit_log DROP COLUMN actor_name;
