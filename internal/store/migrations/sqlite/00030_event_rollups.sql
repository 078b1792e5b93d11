-- +goose Up
-- Usage figures come from hourly rollups kept beside the raw event log, so a
-- usage query reads a few hundred rows instead of millions, and pruning old
-- events (retention) does not erase the figures. The rollups are written in
-- the same transaction as the events they count.
CREATE TABLE tenant_event_rollups (
    restaurant_id   TEXT NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    id              TEXT NOT NULL,
    bucket          TIMESTAMP NOT NULL, -- start of the hour (UTC)
    event_type      TEXT NOT NULL,
    event_count     INTEGER NOT NULL DEFAULT 0,
    duration_ms_sum INTEGER NOT NULL DEFAULT 0, -- api_request durations
    server_errors   INTEGER NOT NULL DEFAULT 0, -- api_request with status >= 500
    PRIMARY KEY (restaurant_id, id),
    UNIQUE (restaurant_id, bucket, event_type)
);

-- Who logged in on which day: distinct active users over any range of days
-- survive the pruning of the user_login events.
CREATE TABLE tenant_daily_users (
    restaurant_id TEXT NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    id            TEXT NOT NULL,
    day           TEXT NOT NULL,
    user_id       TEXT NOT NULL,
    PRIMARY KEY (restaurant_id, id),
    UNIQUE (restaurant_id, day, user_id)
);

-- The events listing pages through one tenant's log newest first, with or
-- without a type filter, and retention deletes one tenant's old events at a time.
CREATE INDEX tenant_events_time_idx ON tenant_events (restaurant_id, created_at);

-- +goose Down
DROP INDEX tenant_events_time_idx;
DROP TABLE tenant_daily_users;
DROP TABLE tenant_event_rollups;
