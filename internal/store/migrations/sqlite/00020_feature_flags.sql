-- +goose Up
-- Feature flags of one tenant. A tenant row wins over the platform default of
-- the same key (global_feature_flags).
CREATE TABLE feature_flags (
    restaurant_id TEXT NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    id            TEXT NOT NULL,
    key           TEXT NOT NULL,
    description   TEXT NOT NULL DEFAULT '',
    enabled       BOOLEAN NOT NULL DEFAULT 0,
    percentage    INTEGER CHECK (percentage BETWEEN 0 AND 100),
    configuration TEXT NOT NULL DEFAULT '{}',
    variants      TEXT NOT NULL DEFAULT '[]',
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (restaurant_id, id),
    UNIQUE (restaurant_id, key)
);

-- Platform-wide defaults, managed by super_admin.
CREATE TABLE global_feature_flags (
    id            TEXT NOT NULL PRIMARY KEY,
    key           TEXT NOT NULL UNIQUE,
    description   TEXT NOT NULL DEFAULT '',
    enabled       BOOLEAN NOT NULL DEFAULT 0,
    percentage    INTEGER CHECK (percentage BETWEEN 0 AND 100),
    configuration TEXT NOT NULL DEFAULT '{}',
    variants      TEXT NOT NULL DEFAULT '[]',
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL
);

-- Evaluation counts per tenant, flag key and UTC day, added up from
-- in-memory counters flushed periodically. Keyed by flag key, not flag id,
-- because a tenant evaluates platform defaults too.
CREATE TABLE flag_evaluations (
    restaurant_id     TEXT NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    id                TEXT NOT NULL,
    flag_key          TEXT NOT NULL,
    day               TEXT NOT NULL,
    true_count        INTEGER NOT NULL DEFAULT 0,
    false_count       INTEGER NOT NULL DEFAULT 0,
    last_evaluated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (restaurant_id, id),
    UNIQUE (restaurant_id, flag_key, day)
);

-- +goose Down
DROP TABLE flag_evaluations;
DROP TABLE global_feature_flags;
DROP TABLE feature_flags;
