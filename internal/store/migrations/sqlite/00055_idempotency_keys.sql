-- +goose Up
-- The answers to writes made under an Idempotency-Key, kept so that a retry
-- of the same request is answered without doing the write again. A row is
-- written in the transaction of the write it answers; the unique key makes
-- a concurrent duplicate wait for the first and then fail, changing nothing.
-- Rows older than a day are pruned by the retention job.
CREATE TABLE idempotency_keys (
    restaurant_id TEXT NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    id            TEXT NOT NULL,
    caller        TEXT NOT NULL,
    key           TEXT NOT NULL,
    fingerprint   TEXT NOT NULL,
    status        INTEGER NOT NULL,
    body          TEXT NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (restaurant_id, id),
    UNIQUE (restaurant_id, caller, key)
);
CREATE INDEX idempotency_keys_age_idx ON idempotency_keys (restaurant_id, created_at);

-- +goose Down
DROP TABLE idempotency_keys;
