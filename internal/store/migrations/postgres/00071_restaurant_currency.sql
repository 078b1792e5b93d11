-- +goose Up
-- The currency (ISO 4217) a restaurant's amounts are in; the *_cents
-- columns hold its minor unit. Set by the restaurant's admin.
ALTER TABLE restaurants ADD COLUMN currency TEXT NOT NULL DEFAULT 'USD';

-- +goose Down
ALTER TABLE restaurants DROP COLUMN currency;
