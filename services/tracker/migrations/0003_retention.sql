-- Events and flows are deleted after a retention (src/retention.rs): flows by `last_at`
-- (flows_by_recency), their events by flow (events_by_flow), and the events of no flow (a
-- correlation id that is not a UUID) by their own time, through this index.
CREATE INDEX events_without_flow ON events (occurred_at) WHERE flow_id IS NULL;
