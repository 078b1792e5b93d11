-- +goose Up
-- Failed credentials of every kind feed the login throttle: passwords (per
-- account and per client address) and API keys (per address).
ALTER TABLE login_failures ADD COLUMN kind TEXT NOT NULL DEFAULT 'password';
CREATE INDEX login_failures_ip_idx ON login_failures (ip, created_at);

-- The moments a throttle closed: what was throttled (an account's e-mail
-- or a client address), for how long, after how many failures. Operators
-- read recent bursts from here; like the failures it describes, a throttle
-- belongs to no tenant.
CREATE TABLE login_throttles (
    id         TEXT NOT NULL PRIMARY KEY,
    kind       TEXT NOT NULL CHECK (kind IN ('account', 'address', 'api_key')),
    subject    TEXT NOT NULL,
    ip         TEXT NOT NULL DEFAULT '',
    failures   INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    until      TIMESTAMP NOT NULL
);
CREATE INDEX login_throttles_created_idx ON login_throttles (created_at);

-- The platform's audit trail is read newest first across tenants, by a
-- cursor on (created_at, id).
CREATE INDEX audit_log_time_idx ON audit_log (created_at, id);

-- +goose Down
DROP INDEX audit_log_time_idx;
DROP TABLE login_throttles;
DROP INDEX login_failures_ip_idx;
ALTER TABLE login_failures DROP COLUMN kind;
