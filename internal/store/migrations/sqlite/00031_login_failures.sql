-- +goose Up
-- Failed logins, kept for a day so every serve instance sees the same count
-- when deciding that an address is under attack (a failed-login burst). The
-- address may belong to no tenant, or to several, so the table is the
-- platform's.
CREATE TABLE login_failures (
    id         TEXT NOT NULL PRIMARY KEY,
    email      TEXT NOT NULL,
    ip         TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX login_failures_email_idx ON login_failures (email, created_at);
CREATE INDEX login_failures_created_idx ON login_failures (created_at);

-- +goose Down
DROP TABLE login_failures;
