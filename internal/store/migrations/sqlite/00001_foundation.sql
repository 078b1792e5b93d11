-- +goose Up
-- Tenancy is structural: every tenant-owned table carries restaurant_id, its
-- primary key is (restaurant_id, id), and references between tenant tables are
-- composite, so the database itself refuses a row pointing into another tenant.

CREATE TABLE restaurants (
    id                 TEXT NOT NULL PRIMARY KEY,
    name               TEXT NOT NULL,
    prefix             TEXT NOT NULL,
    status             TEXT NOT NULL DEFAULT 'active'
                       CHECK (status IN ('active', 'read_only', 'suspended')),
    tokens_valid_after TIMESTAMP,
    created_at         TIMESTAMP NOT NULL,
    updated_at         TIMESTAMP NOT NULL
);

-- Platform operators belong to no restaurant.
CREATE TABLE super_admins (
    id                 TEXT NOT NULL PRIMARY KEY,
    email              TEXT NOT NULL UNIQUE,
    name               TEXT NOT NULL DEFAULT '',
    password_hash      TEXT NOT NULL,
    tokens_valid_after TIMESTAMP,
    created_at         TIMESTAMP NOT NULL,
    updated_at         TIMESTAMP NOT NULL
);

CREATE TABLE users (
    restaurant_id      TEXT NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    id                 TEXT NOT NULL,
    email              TEXT NOT NULL,
    name               TEXT NOT NULL DEFAULT '',
    role               TEXT NOT NULL CHECK (role IN ('admin', 'staff', 'customer')),
    password_hash      TEXT NOT NULL,
    tokens_valid_after TIMESTAMP,
    created_at         TIMESTAMP NOT NULL,
    updated_at         TIMESTAMP NOT NULL,
    PRIMARY KEY (restaurant_id, id),
    UNIQUE (restaurant_id, email)
);
CREATE INDEX users_email_idx ON users (email);

-- Individually revoked tokens (logout); rows expire with the token.
CREATE TABLE revoked_tokens (
    jti        TEXT NOT NULL PRIMARY KEY,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX revoked_tokens_expires_idx ON revoked_tokens (expires_at);

-- The audit log outlives the tenants it mentions, so it has no foreign key;
-- restaurant_id is empty for platform-wide actions.
CREATE TABLE audit_log (
    id            TEXT NOT NULL PRIMARY KEY,
    restaurant_id TEXT,
    actor_id      TEXT NOT NULL,
    actor_role    TEXT NOT NULL,
    action        TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    resource_id   TEXT NOT NULL,
    before_data   TEXT,
    after_data    TEXT,
    ip            TEXT NOT NULL DEFAULT '',
    created_at    TIMESTAMP NOT NULL
);
CREATE INDEX audit_log_tenant_idx ON audit_log (restaurant_id, created_at);

CREATE TABLE tenant_events (
    restaurant_id TEXT NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    id            TEXT NOT NULL,
    event_type    TEXT NOT NULL CHECK (event_type IN ('user_login', 'order_created',
                  'payment_processed', 'api_request', 'error', 'security_alert')),
    event_data    TEXT NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (restaurant_id, id)
);
CREATE INDEX tenant_events_type_time_idx ON tenant_events (restaurant_id, event_type, created_at);

-- The first tenant tables with a reference between them; their API comes with
-- the restaurant domain.
CREATE TABLE menu_categories (
    restaurant_id TEXT NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    id            TEXT NOT NULL,
    name          TEXT NOT NULL,
    position      INTEGER NOT NULL DEFAULT 0,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (restaurant_id, id),
    UNIQUE (restaurant_id, name)
);

CREATE TABLE menu_items (
    restaurant_id TEXT NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    id            TEXT NOT NULL,
    category_id   TEXT NOT NULL,
    name          TEXT NOT NULL,
    description   TEXT NOT NULL DEFAULT '',
    price_cents   INTEGER NOT NULL CHECK (price_cents >= 0),
    available     BOOLEAN NOT NULL DEFAULT TRUE,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (restaurant_id, id),
    FOREIGN KEY (restaurant_id, category_id) REFERENCES menu_categories (restaurant_id, id)
);
CREATE INDEX menu_items_category_idx ON menu_items (restaurant_id, category_id);

-- +goose Down
DROP TABLE menu_items;
DROP TABLE menu_categories;
DROP TABLE tenant_events;
DROP TABLE audit_log;
DROP TABLE revoked_tokens;
DROP TABLE users;
DROP TABLE super_admins;
DROP TABLE restaurants;
