-- Customers and their credit: what billing may charge them in total.
CREATE TABLE customers (
    id                 TEXT        PRIMARY KEY,
    credit_limit_cents BIGINT      NOT NULL CHECK (credit_limit_cents >= 0),
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at         TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- One payment per order at most (the primary key makes a second charge impossible).
CREATE TABLE payments (
    order_id     UUID        PRIMARY KEY,
    customer_id  TEXT        NOT NULL REFERENCES customers (id),
    amount_cents BIGINT      NOT NULL CHECK (amount_cents >= 0),
    status       TEXT        NOT NULL CHECK (status IN ('charged', 'refunded')),
    charged_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    refunded_at  TIMESTAMPTZ,
    CHECK ((status = 'refunded') = (refunded_at IS NOT NULL))
);

CREATE INDEX payments_by_customer ON payments (customer_id, charged_at);

-- Orders cancelled before (or without) a charge: a submit arriving later charges nothing.
CREATE TABLE cancelled_orders (
    order_id UUID        PRIMARY KEY,
    at       TIMESTAMPTZ NOT NULL DEFAULT now()
);
