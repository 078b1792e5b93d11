-- +goose Up
-- A point-in-time restore replaces a restaurant's rows like the other
-- restores: at most one restore of a restaurant is queued or running.
DROP INDEX jobs_one_restore_per_tenant;
CREATE UNIQUE INDEX jobs_one_restore_per_tenant ON jobs (restaurant_id)
    WHERE kind IN ('backup.import', 'backup.restore_latest', 'backup.restore_point_in_time') AND status IN ('queued', 'running');

-- +goose Down
DROP INDEX jobs_one_restore_per_tenant;
CREATE UNIQUE INDEX jobs_one_restore_per_tenant ON jobs (restaurant_id)
    WHERE kind IN ('backup.import', 'backup.restore_latest') AND status IN ('queued', 'running');
