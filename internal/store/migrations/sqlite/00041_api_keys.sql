-- +goose Up
-- Keys that let another installation (or automation) call the endpoints
-- marked for them, such as importing a migrated tenant. Only a SHA-256 of
-- each key is kept; the key itself is shown once, when created.
CREATE TABLE api_keys (
    id           TEXT NOT NULL PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    key_hash     TEXT NOT NULL UNIQUE,
    created_at   TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP,
    revoked_at   TIMESTAMP
);

-- +goose Down
DROP TABLE api_keys;
