-- +goose Up
-- At most one restore of a restaurant is queued or running at a time: the
-- database refuses a second one, however many requests and instances race,
-- and the product answers 409 with the running job's id. Imports into a new
-- restaurant carry that new restaurant's id, so they never collide.
-- Restores that piled up under an earlier release are closed first; the
-- newest one stays.
UPDATE jobs SET status = 'failed', message = 'superseded by a newer restore of the same restaurant'
WHERE kind IN ('backup.import', 'backup.restore_latest') AND status IN ('queued', 'running')
  AND EXISTS (SELECT 1 FROM jobs newer
              WHERE newer.restaurant_id = jobs.restaurant_id
                AND newer.kind IN ('backup.import', 'backup.restore_latest')
                AND newer.status IN ('queued', 'running')
                AND (newer.created_at > jobs.created_at OR (newer.created_at = jobs.created_at AND newer.id > jobs.id)));
CREATE UNIQUE INDEX jobs_one_restore_per_tenant ON jobs (restaurant_id)
    WHERE kind IN ('backup.import', 'backup.restore_latest') AND status IN ('queued', 'running');

-- +goose Down
DROP INDEX jobs_one_restore_per_tenant;
