-- +goose Up
-- What the product tells about a background job (backups, restores, clones,
-- migrations). River keeps its own queue tables for delivery and retries and
-- prunes finished jobs; this record stays, so a job's outcome is readable
-- long after, and after a restart. restaurant_id has no foreign key: a job
-- may concern no tenant (all-tenant schedules) or one that a later restore
-- replaced or deleted.
CREATE TABLE jobs (
    id            UUID PRIMARY KEY,
    kind          TEXT NOT NULL,
    restaurant_id UUID,
    status        TEXT NOT NULL CHECK (status IN ('queued', 'running', 'complete', 'failed')),
    progress      INTEGER NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
    message       TEXT NOT NULL DEFAULT '',
    result        JSONB,
    created_by    TEXT NOT NULL DEFAULT '',
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX jobs_tenant_idx ON jobs (restaurant_id, created_at);

-- +goose Down
DROP TABLE jobs;
