-- +goose Up
-- The restaurant domain. Every table follows the tenancy rules of 00001:
-- restaurant_id first, primary key (restaurant_id, id), composite references,
-- unique constraints within one restaurant. Money is integer cents.

CREATE TABLE customers (
    restaurant_id UUID NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    id            UUID NOT NULL,
    user_id       UUID,
    name          TEXT NOT NULL,
    email         TEXT NOT NULL DEFAULT '',
    phone         TEXT NOT NULL DEFAULT '',
    notes         TEXT NOT NULL DEFAULT '',
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (restaurant_id, id),
    FOREIGN KEY (restaurant_id, user_id) REFERENCES users (restaurant_id, id) ON DELETE SET NULL (user_id)
);
CREATE UNIQUE INDEX customers_user_idx ON customers (restaurant_id, user_id) WHERE user_id IS NOT NULL;
CREATE INDEX customers_email_idx ON customers (restaurant_id, email);

CREATE TABLE staff_members (
    restaurant_id UUID NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    id            UUID NOT NULL,
    user_id       UUID,
    name          TEXT NOT NULL,
    position      TEXT NOT NULL,
    email         TEXT NOT NULL DEFAULT '',
    phone         TEXT NOT NULL DEFAULT '',
    active        BOOLEAN NOT NULL DEFAULT TRUE,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (restaurant_id, id),
    FOREIGN KEY (restaurant_id, user_id) REFERENCES users (restaurant_id, id) ON DELETE SET NULL (user_id)
);

CREATE TABLE tables (
    restaurant_id UUID NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    id            UUID NOT NULL,
    label         TEXT NOT NULL,
    capacity      INTEGER NOT NULL CHECK (capacity BETWEEN 1 AND 100),
    location      TEXT NOT NULL DEFAULT '',
    active        BOOLEAN NOT NULL DEFAULT TRUE,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (restaurant_id, id),
    UNIQUE (restaurant_id, label)
);

-- A special event closes a date or caps the guests booked on it.
CREATE TABLE special_events (
    restaurant_id UUID NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    id            UUID NOT NULL,
    name          TEXT NOT NULL,
    description   TEXT NOT NULL DEFAULT '',
    event_date    TEXT NOT NULL,
    closed        BOOLEAN NOT NULL DEFAULT FALSE,
    max_guests    INTEGER CHECK (max_guests >= 0),
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (restaurant_id, id),
    UNIQUE (restaurant_id, event_date)
);

CREATE TABLE promotions (
    restaurant_id   UUID NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    id              UUID NOT NULL,
    code            TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    discount_type   TEXT NOT NULL CHECK (discount_type IN ('percent', 'fixed')),
    discount_value  BIGINT NOT NULL CHECK (discount_value > 0),
    min_order_cents BIGINT NOT NULL DEFAULT 0 CHECK (min_order_cents >= 0),
    starts_at       TIMESTAMPTZ,
    ends_at         TIMESTAMPTZ,
    max_uses        INTEGER CHECK (max_uses > 0),
    uses            INTEGER NOT NULL DEFAULT 0 CHECK (uses >= 0),
    active          BOOLEAN NOT NULL DEFAULT TRUE,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (restaurant_id, id),
    UNIQUE (restaurant_id, code),
    CHECK (max_uses IS NULL OR uses <= max_uses)
);

-- One row per restaurant, kind (O orders, R reservations) and day: the next
-- number is taken by incrementing the row in the transaction that uses it.
CREATE TABLE number_counters (
    restaurant_id UUID NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    id            UUID NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('O', 'R')),
    day           TEXT NOT NULL,
    value         INTEGER NOT NULL,
    PRIMARY KEY (restaurant_id, id),
    UNIQUE (restaurant_id, kind, day)
);

CREATE TABLE orders (
    restaurant_id      UUID NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    id                 UUID NOT NULL,
    number             TEXT NOT NULL,
    customer_id        UUID,
    table_id           UUID,
    promotion_id       UUID,
    order_type         TEXT NOT NULL CHECK (order_type IN ('dine_in', 'takeout', 'delivery')),
    status             TEXT NOT NULL CHECK (status IN ('pending', 'preparing', 'ready', 'completed', 'cancelled', 'refunded')),
    notes              TEXT NOT NULL DEFAULT '',
    subtotal_cents     BIGINT NOT NULL CHECK (subtotal_cents >= 0),
    discount_cents     BIGINT NOT NULL CHECK (discount_cents >= 0),
    total_amount_cents BIGINT NOT NULL CHECK (total_amount_cents >= 0),
    created_at         TIMESTAMPTZ NOT NULL,
    updated_at         TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (restaurant_id, id),
    UNIQUE (restaurant_id, number),
    FOREIGN KEY (restaurant_id, customer_id) REFERENCES customers (restaurant_id, id),
    FOREIGN KEY (restaurant_id, table_id) REFERENCES tables (restaurant_id, id),
    FOREIGN KEY (restaurant_id, promotion_id) REFERENCES promotions (restaurant_id, id)
);
CREATE INDEX orders_time_idx ON orders (restaurant_id, created_at);
CREATE INDEX orders_customer_idx ON orders (restaurant_id, customer_id);

CREATE TABLE order_items (
    restaurant_id    UUID NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    id               UUID NOT NULL,
    order_id         UUID NOT NULL,
    menu_item_id     UUID NOT NULL,
    name             TEXT NOT NULL,
    unit_price_cents BIGINT NOT NULL CHECK (unit_price_cents >= 0),
    quantity         INTEGER NOT NULL CHECK (quantity BETWEEN 1 AND 100),
    line_total_cents BIGINT NOT NULL CHECK (line_total_cents >= 0),
    notes            TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (restaurant_id, id),
    FOREIGN KEY (restaurant_id, order_id) REFERENCES orders (restaurant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (restaurant_id, menu_item_id) REFERENCES menu_items (restaurant_id, id)
);
CREATE INDEX order_items_order_idx ON order_items (restaurant_id, order_id);
CREATE INDEX order_items_menu_item_idx ON order_items (restaurant_id, menu_item_id);

CREATE TABLE payment_methods (
    restaurant_id UUID NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    id            UUID NOT NULL,
    name          TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('cash', 'card', 'mobile', 'voucher', 'other')),
    active        BOOLEAN NOT NULL DEFAULT TRUE,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (restaurant_id, id),
    UNIQUE (restaurant_id, name)
);

CREATE TABLE payments (
    restaurant_id     UUID NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    id                UUID NOT NULL,
    order_id          UUID NOT NULL,
    payment_method_id UUID NOT NULL,
    amount_cents      BIGINT NOT NULL CHECK (amount_cents > 0),
    refunded_cents    BIGINT NOT NULL DEFAULT 0 CHECK (refunded_cents >= 0),
    status            TEXT NOT NULL CHECK (status IN ('completed', 'failed', 'partially_refunded', 'refunded')),
    gateway_reference TEXT NOT NULL DEFAULT '',
    failure_reason    TEXT NOT NULL DEFAULT '',
    created_at        TIMESTAMPTZ NOT NULL,
    updated_at        TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (restaurant_id, id),
    FOREIGN KEY (restaurant_id, order_id) REFERENCES orders (restaurant_id, id),
    FOREIGN KEY (restaurant_id, payment_method_id) REFERENCES payment_methods (restaurant_id, id),
    CHECK (refunded_cents <= amount_cents)
);
CREATE INDEX payments_order_idx ON payments (restaurant_id, order_id);

CREATE TABLE reservations (
    restaurant_id UUID NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    id            UUID NOT NULL,
    number        TEXT NOT NULL,
    customer_id   UUID,
    table_id      UUID NOT NULL,
    name          TEXT NOT NULL,
    phone         TEXT NOT NULL DEFAULT '',
    party_size    INTEGER NOT NULL CHECK (party_size BETWEEN 1 AND 100),
    starts_at     TIMESTAMPTZ NOT NULL,
    ends_at       TIMESTAMPTZ NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('booked', 'seated', 'completed', 'cancelled', 'no_show')),
    notes         TEXT NOT NULL DEFAULT '',
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (restaurant_id, id),
    UNIQUE (restaurant_id, number),
    FOREIGN KEY (restaurant_id, customer_id) REFERENCES customers (restaurant_id, id),
    FOREIGN KEY (restaurant_id, table_id) REFERENCES tables (restaurant_id, id),
    CHECK (ends_at > starts_at)
);
CREATE INDEX reservations_table_time_idx ON reservations (restaurant_id, table_id, starts_at);
CREATE INDEX reservations_time_idx ON reservations (restaurant_id, starts_at);

CREATE TABLE loyalty_programs (
    restaurant_id  UUID NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    id             UUID NOT NULL,
    name           TEXT NOT NULL,
    points_per_unit INTEGER NOT NULL CHECK (points_per_unit BETWEEN 0 AND 1000),
    active         BOOLEAN NOT NULL DEFAULT TRUE,
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (restaurant_id, id),
    UNIQUE (restaurant_id, name)
);

CREATE TABLE loyalty_rewards (
    restaurant_id UUID NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    id            UUID NOT NULL,
    program_id    UUID NOT NULL,
    name          TEXT NOT NULL,
    description   TEXT NOT NULL DEFAULT '',
    points_cost   INTEGER NOT NULL CHECK (points_cost > 0),
    active        BOOLEAN NOT NULL DEFAULT TRUE,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (restaurant_id, id),
    FOREIGN KEY (restaurant_id, program_id) REFERENCES loyalty_programs (restaurant_id, id) ON DELETE CASCADE
);

CREATE TABLE customer_loyalty (
    restaurant_id   UUID NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    id              UUID NOT NULL,
    customer_id     UUID NOT NULL,
    program_id      UUID NOT NULL,
    points_balance  BIGINT NOT NULL DEFAULT 0 CHECK (points_balance >= 0),
    lifetime_points BIGINT NOT NULL DEFAULT 0 CHECK (lifetime_points >= 0),
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (restaurant_id, id),
    UNIQUE (restaurant_id, customer_id, program_id),
    FOREIGN KEY (restaurant_id, customer_id) REFERENCES customers (restaurant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (restaurant_id, program_id) REFERENCES loyalty_programs (restaurant_id, id) ON DELETE CASCADE
);

CREATE TABLE feedback (
    restaurant_id UUID NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    id            UUID NOT NULL,
    customer_id   UUID,
    order_id      UUID,
    rating        INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
    comment       TEXT NOT NULL DEFAULT '',
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (restaurant_id, id),
    FOREIGN KEY (restaurant_id, customer_id) REFERENCES customers (restaurant_id, id),
    FOREIGN KEY (restaurant_id, order_id) REFERENCES orders (restaurant_id, id)
);

CREATE TABLE notifications (
    restaurant_id UUID NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
    id            UUID NOT NULL,
    order_id      UUID,
    customer_id   UUID,
    kind          TEXT NOT NULL,
    message       TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed', 'read')),
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (restaurant_id, id),
    FOREIGN KEY (restaurant_id, order_id) REFERENCES orders (restaurant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (restaurant_id, customer_id) REFERENCES customers (restaurant_id, id)
);
CREATE INDEX notifications_time_idx ON notifications (restaurant_id, created_at);

-- +goose Down
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
