-- +goose Up
-- One row whose version moves with every change to what authentication
-- depends on (a logout, a revocation, a role, password or status change, an
-- SDK key), in the transaction of the change. Instances serve that state
-- from memory; comparing this one number is how each notices a change it
-- was not told about.
CREATE TABLE auth_state (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO auth_state (id, version) VALUES (1, 0);

-- Evaluation keys of a restaurant: they may only evaluate its feature flags.
-- Only a SHA-256 of each key is kept; the key is shown once, when created.
-- A credential, so never part of a tenant's archive: it belongs to the
-- platform's tables, with the restaurant it opens.
CREATE TABLE sdk_keys (
    id            UUID PRIMARY KEY,
    restaurant_id UUID NOT NULL,
    name          TEXT NOT NULL,
    key_hash      TEXT NOT NULL UNIQUE,
    created_at    TIMESTAMPTZ NOT NULL,
    last_used_at  TIMESTAMPTZ,
    revoked_at    TIMESTAMPTZ
);
CREATE INDEX sdk_keys_restaurant ON sdk_keys (restaurant_id, created_at);

-- +goose Down
DROP TABLE sdk_keys;
DROP TABLE auth_state;
