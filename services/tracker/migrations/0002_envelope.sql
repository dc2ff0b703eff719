-- Each event keeps the bus's envelope whole (event_bus::Envelope, as JSON): the tracker reads it
-- back as the bus wrote it instead of a copy of its fields. The columns that queries filter or
-- join on stay: message_id, routing_key, flow_id, causation_id, occurred_at.
ALTER TABLE events ADD COLUMN envelope JSONB;

UPDATE events SET envelope = jsonb_build_object(
    'message_id', message_id,
    'exchange', exchange,
    'routing_key', routing_key,
    'version', version,
    'correlation_id', correlation_id,
    'causation_id', causation_id,
    'producer', producer,
    'timestamp', occurred_at,
    'traceparent', NULL,
    'attempt', 1);

ALTER TABLE events ALTER COLUMN envelope SET NOT NULL;

ALTER TABLE events
    DROP COLUMN exchange,
    DROP COLUMN name,
    DROP COLUMN version,
    DROP COLUMN producer,
    DROP COLUMN correlation_id;
