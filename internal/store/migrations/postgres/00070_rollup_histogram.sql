-- +goose Up
-- The hourly rollups carry every figure the reports show, the current hour
-- included, so no report reads the raw log: requests by status class, and
-- request durations in fixed buckets (milliseconds, upper bounds 5, 10, 25,
-- 50, 100, 250, 500, 1000, 2500, 5000, 10000 and beyond) from which p95 and
-- p99 are interpolated as Prometheus's histogram_quantile does. Bucket counts
-- are per bucket, not cumulative, so rollups add up by plain sums.
ALTER TABLE tenant_event_rollups ADD COLUMN status_2xx BIGINT NOT NULL DEFAULT 0;
ALTER TABLE tenant_event_rollups ADD COLUMN status_3xx BIGINT NOT NULL DEFAULT 0;
ALTER TABLE tenant_event_rollups ADD COLUMN status_4xx BIGINT NOT NULL DEFAULT 0;
ALTER TABLE tenant_event_rollups ADD COLUMN duration_le_5 BIGINT NOT NULL DEFAULT 0;
ALTER TABLE tenant_event_rollups ADD COLUMN duration_le_10 BIGINT NOT NULL DEFAULT 0;
ALTER TABLE tenant_event_rollups ADD COLUMN duration_le_25 BIGINT NOT NULL DEFAULT 0;
ALTER TABLE tenant_event_rollups ADD COLUMN duration_le_50 BIGINT NOT NULL DEFAULT 0;
ALTER TABLE tenant_event_rollups ADD COLUMN duration_le_100 BIGINT NOT NULL DEFAULT 0;
ALTER TABLE tenant_event_rollups ADD COLUMN duration_le_250 BIGINT NOT NULL DEFAULT 0;
ALTER TABLE tenant_event_rollups ADD COLUMN duration_le_500 BIGINT NOT NULL DEFAULT 0;
ALTER TABLE tenant_event_rollups ADD COLUMN duration_le_1000 BIGINT NOT NULL DEFAULT 0;
ALTER TABLE tenant_event_rollups ADD COLUMN duration_le_2500 BIGINT NOT NULL DEFAULT 0;
ALTER TABLE tenant_event_rollups ADD COLUMN duration_le_5000 BIGINT NOT NULL DEFAULT 0;
ALTER TABLE tenant_event_rollups ADD COLUMN duration_le_10000 BIGINT NOT NULL DEFAULT 0;
ALTER TABLE tenant_event_rollups ADD COLUMN duration_le_inf BIGINT NOT NULL DEFAULT 0;

-- The busiest routes of the last 24 hours, from an hourly rollup per route
-- pattern (a bounded set) and method, written with the events.
CREATE TABLE tenant_route_rollups (
    restaurant_id   UUID NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    id              UUID NOT NULL,
    bucket          TIMESTAMPTZ NOT NULL, -- start of the hour (UTC)
    method          TEXT NOT NULL,
    route           TEXT NOT NULL,
    request_count   BIGINT NOT NULL DEFAULT 0,
    duration_ms_sum BIGINT NOT NULL DEFAULT 0,
    server_errors   BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (restaurant_id, id),
    UNIQUE (restaurant_id, bucket, method, route)
);

-- +goose Down
DROP TABLE tenant_route_rollups;
ALTER TABLE tenant_event_rollups DROP COLUMN status_2xx;
ALTER TABLE tenant_event_rollups DROP COLUMN status_3xx;
ALTER TABLE tenant_event_rollups DROP COLUMN status_4xx;
ALTER TABLE tenant_event_rollups DROP COLUMN duration_le_5;
ALTER TABLE tenant_event_rollups DROP COLUMN duration_le_10;
ALTER TABLE tenant_event_rollups DROP COLUMN duration_le_25;
ALTER TABLE tenant_event_rollups DROP COLUMN duration_le_50;
ALTER TABLE tenant_event_rollups DROP COLUMN duration_le_100;
ALTER TABLE tenant_event_rollups DROP COLUMN duration_le_250;
ALTER TABLE tenant_event_rollups DROP COLUMN duration_le_500;
ALTER TABLE tenant_event_rollups DROP COLUMN duration_le_1000;
ALTER TABLE tenant_event_rollups DROP COLUMN duration_le_2500;
ALTER TABLE tenant_event_rollups DROP COLUMN duration_le_5000;
ALTER TABLE tenant_event_rollups DROP COLUMN duration_le_10000;
ALTER TABLE tenant_event_rollups DROP COLUMN duration_le_inf;
