-- Units of each SKU in the warehouse, and how many of them are set aside for orders.
CREATE TABLE stock (
    sku        TEXT        PRIMARY KEY,
    on_hand    INTEGER     NOT NULL CHECK (on_hand >= 0),
    reserved   INTEGER     NOT NULL CHECK (reserved >= 0),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- Nothing is reserved that is not there: reservations check it, shipments take both.
    CHECK (reserved <= on_hand)
);

-- One reservation per order at most; its lines are what was set aside, SKUs merged.
CREATE TABLE reservations (
    order_id        UUID        PRIMARY KEY,
    lines           JSONB       NOT NULL,
    status          TEXT        NOT NULL CHECK (status IN ('reserved', 'released', 'shipped')),
    tracking_number TEXT,
    reserved_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    released_at     TIMESTAMPTZ,
    shipped_at      TIMESTAMPTZ,
    CHECK ((status = 'shipped') = (tracking_number IS NOT NULL AND shipped_at IS NOT NULL)),
    CHECK ((status = 'released') = (released_at IS NOT NULL))
);

-- Orders whose cancellation was seen: a submit arriving later reserves nothing.
CREATE TABLE cancelled_orders (
    order_id UUID        PRIMARY KEY,
    at       TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- What was asked of the supplier; pending until done_at is set.
CREATE TABLE replenishments (
    id           BIGSERIAL   PRIMARY KEY,
    sku          TEXT        NOT NULL,
    quantity     INTEGER     NOT NULL CHECK (quantity > 0),
    requested_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    due_at       TIMESTAMPTZ NOT NULL,
    done_at      TIMESTAMPTZ
);

-- At most one pending replenishment per SKU.
CREATE UNIQUE INDEX replenishments_pending_sku ON replenishments (sku) WHERE done_at IS NULL;
-- What the supplier scans.
CREATE INDEX replenishments_due ON replenishments (due_at) WHERE done_at IS NULL;
