-- Orders, their lines, and the history of their status changes.

CREATE TABLE orders (
    id              UUID        PRIMARY KEY,
    customer_id     TEXT        NOT NULL,
    email           TEXT        NOT NULL,
    currency        TEXT        NOT NULL,
    total_cents     BIGINT      NOT NULL CHECK (total_cents >= 0),
    status          TEXT        NOT NULL
        CHECK (status IN ('pending', 'confirmed', 'shipped', 'cancelled')),
    cancel_reason   TEXT
        CHECK (cancel_reason IN ('payment_declined', 'out_of_stock', 'timeout')),
    cancel_detail   TEXT,
    tracking_number TEXT,
    -- When billing charged / logistics reserved: both set while pending means confirmed.
    charged_at      TIMESTAMPTZ,
    reserved_at     TIMESTAMPTZ,
    -- A pending order past this instant is cancelled by the sweeper.
    deadline_at     TIMESTAMPTZ NOT NULL,
    -- The client's Idempotency-Key; NULLs never conflict, so orders without one are unaffected.
    idempotency_key TEXT        UNIQUE,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    CHECK ((status = 'cancelled') = (cancel_reason IS NOT NULL))
);

-- What the sweeper scans: only pending orders, by deadline.
CREATE INDEX orders_pending_by_deadline ON orders (deadline_at) WHERE status = 'pending';

CREATE TABLE order_lines (
    order_id         UUID    NOT NULL REFERENCES orders (id),
    position         INTEGER NOT NULL,
    sku              TEXT    NOT NULL,
    quantity         INTEGER NOT NULL CHECK (quantity BETWEEN 1 AND 1000),
    unit_price_cents BIGINT  NOT NULL CHECK (unit_price_cents >= 0),
    PRIMARY KEY (order_id, position)
);

CREATE TABLE order_history (
    id         BIGSERIAL   PRIMARY KEY,
    order_id   UUID        NOT NULL REFERENCES orders (id),
    status     TEXT        NOT NULL,
    -- The routing key of the event that caused the change, `http` or `timeout`.
    event      TEXT        NOT NULL,
    -- The id of that event's message; NULL when no message caused it.
    message_id TEXT,
    at         TIMESTAMPTZ NOT NULL
);

CREATE INDEX order_history_by_order ON order_history (order_id, id);
