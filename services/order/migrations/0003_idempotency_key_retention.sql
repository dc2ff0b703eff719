-- Idempotency keys are kept for `service.idempotency_key_retention_secs`, then cleared (set NULL)
-- in small batches; the order and its history stay. What the clearing scans: only the orders
-- that still hold a key, oldest first, so a round reads the few keys past the retention and
-- never the whole table.
CREATE INDEX orders_keyed_by_created ON orders (created_at) WHERE idempotency_key IS NOT NULL;
