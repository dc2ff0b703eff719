-- Every status that is not final has a deadline, past which the order is stalled and reported
-- (GET /orders?stalled=true, the orders_stalled gauge): `deadline_at` for pending, and for
-- confirmed the moment it was confirmed plus `confirmed_deadline_secs`.

-- When the order took its current status (set with every status change).
ALTER TABLE orders ADD COLUMN status_since TIMESTAMPTZ;
UPDATE orders o SET status_since = coalesce(
    (SELECT max(h.at) FROM order_history h WHERE h.order_id = o.id), o.updated_at);
ALTER TABLE orders ALTER COLUMN status_since SET NOT NULL;

-- What the stall report scans besides the pending orders: only confirmed ones, by age.
CREATE INDEX orders_confirmed_by_since ON orders (status_since) WHERE status = 'confirmed';

-- Where the order came from: 'http' (POST /orders), or 'foreign': first heard of in billing's or
-- logistics' answer, submitted by another producer, recorded to be refused (cancelled) so that
-- its charge is refunded and its stock released. A foreign order's customer is '' until billing
-- names it, and its email and currency stay '' (unknown); it has no lines.
ALTER TABLE orders ADD COLUMN origin TEXT NOT NULL DEFAULT 'http'
    CHECK (origin IN ('http', 'foreign'));
