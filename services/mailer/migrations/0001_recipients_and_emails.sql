-- Where each order's emails go, learned from order.confirmed and order.cancelled: order.shipped
-- carries no address. An empty email means the order came from the legacy shop, which had none.
CREATE TABLE recipients (
    order_id    UUID PRIMARY KEY,
    email       TEXT NOT NULL,
    customer_id TEXT NOT NULL
);

-- One row per email, at most one per order and kind: the unique key is what makes a second copy
-- of a trigger (redelivered, or republished with another message id) send nothing.
-- sent_at is NULL for an email that was recorded but not sent (no usable address).
CREATE TABLE emails (
    id         BIGSERIAL PRIMARY KEY,
    order_id   UUID NOT NULL,
    recipient  TEXT NOT NULL,
    kind       TEXT NOT NULL
               CHECK (kind IN ('order_confirmed', 'order_cancelled', 'order_shipped')),
    subject    TEXT NOT NULL,
    body       TEXT NOT NULL,
    sent_at    TIMESTAMPTZ,
    message_id TEXT NOT NULL,
    UNIQUE (order_id, kind)
);

CREATE INDEX emails_by_sent_at ON emails (sent_at);
