-- +goose Up
-- The restaurant domain. Every table follows the tenancy rules of 00001:
-- restaurant_id first, primary key (restaurant_id, id), composite references,
-- unique constraints within one restaurant. Money is integer cents.

CREATE TABLE customers (
    restaurant_id TEXT NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    id            TEXT NOT NULL,
    user_id       TEXT,
    name          TEXT NOT NULL,
    email         TEXT NOT NULL DEFAULT '',
    phone         TEXT NOT NULL DEFAULT '',
    notes         TEXT NOT NULL DEFAULT '',
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (restaurant_id, id),
    FOREIGN KEY (restaurant_id, user_id) REFERENCES users (restaurant_id, id)
);
CREATE UNIQUE INDEX customers_user_idx ON customers (restaurant_id, user_id) WHERE user_id IS NOT NULL;
CREATE INDEX customers_email_idx ON customers (restaurant_id, email);

CREATE TABLE staff_members (
    restaurant_id TEXT NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    id            TEXT NOT NULL,
    user_id       TEXT,
    name          TEXT NOT NULL,
    position      TEXT NOT NULL,
    email         TEXT NOT NULL DEFAULT '',
    phone         TEXT NOT NULL DEFAULT '',
    active        BOOLEAN NOT NULL DEFAULT TRUE,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (restaurant_id, id),
    FOREIGN KEY (restaurant_id, user_id) REFERENCES users (restaurant_id, id)
);

CREATE TABLE tables (
    restaurant_id TEXT NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    id            TEXT NOT NULL,
    label         TEXT NOT NULL,
    capacity      INTEGER NOT NULL CHECK (capacity BETWEEN 1 AND 100),
    location      TEXT NOT NULL DEFAULT '',
    active        BOOLEAN NOT NULL DEFAULT TRUE,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (restaurant_id, id),
    UNIQUE (restaurant_id, label)
);

-- A special event closes a date or caps the guests booked on it.
CREATE TABLE special_events (
    restaurant_id TEXT NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    id            TEXT NOT NULL,
    name          TEXT NOT NULL,
    description   TEXT NOT NULL DEFAULT '',
    event_date    TEXT NOT NULL,
    closed        BOOLEAN NOT NULL DEFAULT FALSE,
    max_guests    INTEGER CHECK (max_guests >= 0),
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (restaurant_id, id),
    UNIQUE (restaurant_id, event_date)
);

CREATE TABLE promotions (
    restaurant_id   TEXT NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    id              TEXT NOT NULL,
    code            TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    discount_type   TEXT NOT NULL CHECK (discount_type IN ('percent', 'fixed')),
    discount_value  INTEGER NOT NULL CHECK (discount_value > 0),
    min_order_cents INTEGER NOT NULL DEFAULT 0 CHECK (min_order_cents >= 0),
    starts_at       TIMESTAMP,
    ends_at         TIMESTAMP,
    max_uses        INTEGER CHECK (max_uses > 0),
    uses            INTEGER NOT NULL DEFAULT 0 CHECK (uses >= 0),
    active          BOOLEAN NOT NULL DEFAULT TRUE,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL,
    PRIMARY KEY (restaurant_id, id),
    UNIQUE (restaurant_id, code),
    CHECK (max_uses IS NULL OR uses <= max_uses)
);

-- One row per restaurant, kind (O orders, R reservations) and day: the next
-- number is taken by incrementing the row in the transaction that uses it.
CREATE TABLE number_counters (
    restaurant_id TEXT NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    id            TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('O', 'R')),
    day           TEXT NOT NULL,
    value         INTEGER NOT NULL,
    PRIMARY KEY (restaurant_id, id),
    UNIQUE (restaurant_id, kind, day)
);

CREATE TABLE orders (
    restaurant_id      TEXT NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    id                 TEXT NOT NULL,
    number             TEXT NOT NULL,
    customer_id        TEXT,
    table_id           TEXT,
    promotion_id       TEXT,
    order_type         TEXT NOT NULL CHECK (order_type IN ('dine_in', 'takeout', 'delivery')),
    status             TEXT NOT NULL CHECK (status IN ('pending', 'preparing', 'ready', 'completed', 'cancelled', 'refunded')),
    notes              TEXT NOT NULL DEFAULT '',
    subtotal_cents     INTEGER NOT NULL CHECK (subtotal_cents >= 0),
    discount_cents     INTEGER NOT NULL CHECK (discount_cents >= 0),
    total_amount_cents INTEGER NOT NULL CHECK (total_amount_cents >= 0),
    created_at         TIMESTAMP NOT NULL,
    updated_at         TIMESTAMP NOT NULL,
    PRIMARY KEY (restaurant_id, id),
    UNIQUE (restaurant_id, number),
    FOREIGN KEY (restaurant_id, customer_id) REFERENCES customers (restaurant_id, id),
    FOREIGN KEY (restaurant_id, table_id) REFERENCES tables (restaurant_id, id),
    FOREIGN KEY (restaurant_id, promotion_id) REFERENCES promotions (restaurant_id, id)
);
CREATE INDEX orders_time_idx ON orders (restaurant_id, created_at);
CREATE INDEX orders_customer_idx ON orders (restaurant_id, customer_id);

CREATE TABLE order_items (
    restaurant_id    TEXT NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    id               TEXT NOT NULL,
    order_id         TEXT NOT NULL,
    menu_item_id     TEXT NOT NULL,
    name             TEXT NOT NULL,
    unit_price_cents INTEGER NOT NULL CHECK (unit_price_cents >= 0),
    quantity         INTEGER NOT NULL CHECK (quantity BETWEEN 1 AND 100),
    line_total_cents INTEGER NOT NULL CHECK (line_total_cents >= 0),
    notes            TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (restaurant_id, id),
    FOREIGN KEY (restaurant_id, order_id) REFERENCES orders (restaurant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (restaurant_id, menu_item_id) REFERENCES menu_items (restaurant_id, id)
);
CREATE INDEX order_items_order_idx ON order_items (restaurant_id, order_id);
CREATE INDEX order_items_menu_item_idx ON order_items (restaurant_id, menu_item_id);

CREATE TABLE payment_methods (
    restaurant_id TEXT NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    id            TEXT NOT NULL,
    name          TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('cash', 'card', 'mobile', 'voucher', 'other')),
    active        BOOLEAN NOT NULL DEFAULT TRUE,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (restaurant_id, id),
    UNIQUE (restaurant_id, name)
);

CREATE TABLE payments (
    restaurant_id     TEXT NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    id                TEXT NOT NULL,
    order_id          TEXT NOT NULL,
    payment_method_id TEXT NOT NULL,
    amount_cents      INTEGER NOT NULL CHECK (amount_cents > 0),
    refunded_cents    INTEGER NOT NULL DEFAULT 0 CHECK (refunded_cents >= 0),
    status            TEXT NOT NULL CHECK (status IN ('completed', 'failed', 'partially_refunded', 'refunded')),
    gateway_reference TEXT NOT NULL DEFAULT '',
    failure_reason    TEXT NOT NULL DEFAULT '',
    created_at        TIMESTAMP NOT NULL,
    updated_at        TIMESTAMP NOT NULL,
    PRIMARY KEY (restaurant_id, id),
    FOREIGN KEY (restaurant_id, order_id) REFERENCES orders (restaurant_id, id),
    FOREIGN KEY (restaurant_id, payment_method_id) REFERENCES payment_methods (restaurant_id, id),
    CHECK (refunded_cents <= amount_cents)
);
CREATE INDEX payments_order_idx ON payments (restaurant_id, order_id);

CREATE TABLE reservations (
    restaurant_id TEXT NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    id            TEXT NOT NULL,
    number        TEXT NOT NULL,
    customer_id   TEXT,
    table_id      TEXT NOT NULL,
    name          TEXT NOT NULL,
    phone         TEXT NOT NULL DEFAULT '',
    party_size    INTEGER NOT NULL CHECK (party_size BETWEEN 1 AND 100),
    starts_at     TIMESTAMP NOT NULL,
    ends_at       TIMESTAMP NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('booked', 'seated', 'completed', 'cancelled', 'no_show')),
    notes         TEXT NOT NULL DEFAULT '',
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (restaurant_id, id),
    UNIQUE (restaurant_id, number),
    FOREIGN KEY (restaurant_id, customer_id) REFERENCES customers (restaurant_id, id),
    FOREIGN KEY (restaurant_id, table_id) REFERENCES tables (restaurant_id, id),
    CHECK (ends_at > starts_at)
);
CREATE INDEX reservations_table_time_idx ON reservations (restaurant_id, table_id, starts_at);
CREATE INDEX reservations_time_idx ON reservations (restaurant_id, starts_at);

CREATE TABLE loyalty_programs (
    restaurant_id  TEXT NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    id             TEXT NOT NULL,
    name           TEXT NOT NULL,
    points_per_unit INTEGER NOT NULL CHECK (points_per_unit BETWEEN 0 AND 1000),
    active         BOOLEAN NOT NULL DEFAULT TRUE,
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL,
    PRIMARY KEY (restaurant_id, id),
    UNIQUE (restaurant_id, name)
);

CREATE TABLE loyalty_rewards (
    restaurant_id TEXT NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    id            TEXT NOT NULL,
    program_id    TEXT NOT NULL,
    name          TEXT NOT NULL,
    description   TEXT NOT NULL DEFAULT '',
    points_cost   INTEGER NOT NULL CHECK (points_cost > 0),
    active        BOOLEAN NOT NULL DEFAULT TRUE,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (restaurant_id, id),
    FOREIGN KEY (restaurant_id, program_id) REFERENCES loyalty_programs (restaurant_id, id) ON DELETE CASCADE
);

CREATE TABLE customer_loyalty (
    restaurant_id   TEXT NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    id              TEXT NOT NULL,
    customer_id     TEXT NOT NULL,
    program_id      TEXT NOT NULL,
    points_balance  INTEGER NOT NULL DEFAULT 0 CHECK (points_balance >= 0),
    lifetime_points INTEGER NOT NULL DEFAULT 0 CHECK (lifetime_points >= 0),
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL,
    PRIMARY KEY (restaurant_id, id),
    UNIQUE (restaurant_id, customer_id, program_id),
    FOREIGN KEY (restaurant_id, customer_id) REFERENCES customers (restaurant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (restaurant_id, program_id) REFERENCES loyalty_programs (restaurant_id, id) ON DELETE CASCADE
);

CREATE TABLE feedback (
    restaurant_id TEXT NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    id            TEXT NOT NULL,
    customer_id   TEXT,
    order_id      TEXT,
    rating        INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
    comment       TEXT NOT NULL DEFAULT '',
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (restaurant_id, id),
    FOREIGN KEY (restaurant_id, customer_id) REFERENCES customers (restaurant_id, id),
    FOREIGN KEY (restaurant_id, order_id) REFERENCES orders (restaurant_id, id)
);

CREATE TABLE notifications (
    restaurant_id TEXT NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    id            TEXT NOT NULL,
    order_id      TEXT,
    customer_id   TEXT,
    kind          TEXT NOT NULL,
    message       TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed', 'read')),
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (restaurant_id, id),
    FOREIGN KEY (restaurant_id, order_id) REFERENCES orders (restaurant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (restaurant_id, customer_id) REFERENCES customers (restaurant_id, id)
);
CREATE INDEX notifications_time_idx ON notifications (restaurant_id, created_at);

-- SQLite cannot null one column of a composite reference, so a deleted
-- user's customer and staff records are unlinked by a trigger instead.
-- +goose StatementBegin
CREATE TRIGGER users_unlink_people BEFORE DELETE ON users
BEGIN
    UPDATE customers SET user_id = NULL WHERE restaurant_id = OLD.restaurant_id AND user_id = OLD.id;
    UPDATE staff_members SET user_id = NULL WHERE restaurant_id = OLD.restaurant_id AND user_id = OLD.id;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER users_unlink_people;
DROP TABLE notifications;
DROP TABLE feedback;
DROP TABLE customer_loyalty;
DROP TABLE loyalty_rewards;
DROP TABLE loyalty_programs;
DROP TABLE reservations;
DROP TABLE payments;
DROP TABLE payment_methods;
DROP TABLE order_items;
DROP TABLE orders;
DROP TABLE number_counters;
DROP TABLE promotions;
DROP TABLE special_events;
DROP TABLE tables;
DROP TABLE staff_members;
DROP TABLE customers;
