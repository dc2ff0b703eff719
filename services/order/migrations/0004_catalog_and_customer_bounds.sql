-- Prices belong to the shop: the catalog staff keep (PUT /products/{sku}), which prices every
-- order at submission. Its bounds are the API's (`domain::product`), repeated here so that no
-- row can break them. SKUs compare by code point (COLLATE "C"), so that the catalog's order,
-- and the pages of GET /products that follow it, are the same on every database whatever its
-- locale.
CREATE TABLE products (
    sku              TEXT COLLATE "C" PRIMARY KEY,
    name             TEXT        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    unit_price_cents BIGINT      NOT NULL CHECK (unit_price_cents BETWEEN 1 AND 100000000),
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL
);

-- Idempotency keys belong to the customer: the same key used by two customers places two
-- orders, and one customer cannot learn of, nor collide with, another's keys. Only the orders
-- that hold a key are indexed (keys are cleared past their retention, see 0003), so the index
-- stays at about a day of keyed orders.
ALTER TABLE orders DROP CONSTRAINT orders_idempotency_key_key;
CREATE UNIQUE INDEX orders_idempotency_key_by_customer ON orders (customer_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;

-- What the bound on a customer's pending orders counts, in the statement that inserts an order:
-- only that customer's pending orders.
CREATE INDEX orders_pending_by_customer ON orders (customer_id) WHERE status = 'pending';
