-- +goose Up
-- The change log shipped to the backup destinations, segment by segment:
-- what was stored, so the next segment follows it (its number, the moment
-- and seq it ends at, its checksum for the next one's header). A segment's
-- row is written after the segment is stored: a crash between the two
-- ships the same number again. Platform bookkeeping: it outlives the
-- restaurant (a deleted restaurant is restored from its segments), so no
-- foreign key.
CREATE TABLE change_segments (
    restaurant_id TEXT NOT NULL,
    number        BIGINT NOT NULL,
    covers_from   TIMESTAMP,
    covers_to     TIMESTAMP NOT NULL,
    scan_floor    TIMESTAMP NOT NULL,
    first_seq     BIGINT NOT NULL,
    last_seq      BIGINT NOT NULL,
    max_tx        TEXT NOT NULL DEFAULT '',
    max_seq       BIGINT NOT NULL DEFAULT 0,
    changes       INTEGER NOT NULL,
    sha256        TEXT NOT NULL,
    size          BIGINT NOT NULL,
    shipped_at    TIMESTAMP NOT NULL,
    more          BOOLEAN NOT NULL DEFAULT false,
    PRIMARY KEY (restaurant_id, number)
);
CREATE INDEX change_segments_pending_idx ON change_segments (restaurant_id);

-- How far shipping got across every restaurant: one row.
CREATE TABLE change_shipping (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    cut_at     TIMESTAMP,
    cut_seq    BIGINT NOT NULL DEFAULT 0,
    shipped_at TIMESTAMP NOT NULL
);

-- The shipper reads the log by moment: which restaurants have changes
-- after its last cut, and each one's changes after its last segment.
CREATE INDEX tenant_changes_changed_at_idx ON tenant_changes (changed_at);
CREATE INDEX tenant_changes_restaurant_changed_at_idx ON tenant_changes (restaurant_id, changed_at);

-- +goose Down
DROP INDEX tenant_changes_restaurant_changed_at_idx;
DROP INDEX tenant_changes_changed_at_idx;
DROP TABLE change_shipping;
DROP TABLE change_segments;
