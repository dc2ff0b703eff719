-- Every message seen on any exchange, once: the primary key on the message id makes a
-- redelivered or republished copy change nothing.
CREATE TABLE events (
    message_id     TEXT PRIMARY KEY,
    routing_key    TEXT NOT NULL,
    exchange       TEXT NOT NULL,
    name           TEXT NOT NULL,
    version        INTEGER NOT NULL,
    -- The publishing service (AMQP app_id); NULL for a foreign producer that did not say.
    producer       TEXT,
    correlation_id TEXT,
    -- The correlation id when it is a UUID, i.e. the order the event belongs to.
    flow_id        UUID,
    -- The message id of the message whose handling published this one.
    causation_id   TEXT,
    -- When the producer created the event (from its UUID v7 id, else the AMQP timestamp).
    occurred_at    TIMESTAMPTZ NOT NULL,
    received_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    payload        JSONB NOT NULL
);

CREATE INDEX events_by_flow ON events (flow_id, occurred_at);

-- One row per order seen, kept up to date with each new event of it, for the list of recent flows.
CREATE TABLE flows (
    flow_id          UUID PRIMARY KEY,
    events           INTEGER NOT NULL,
    first_at         TIMESTAMPTZ NOT NULL,
    last_at          TIMESTAMPTZ NOT NULL,
    last_routing_key TEXT NOT NULL,
    -- Whether any event of the flow undid an earlier one (cancelled, refunded, released).
    compensated      BOOLEAN NOT NULL
);

CREATE INDEX flows_by_recency ON flows (last_at DESC);
