//! The SQL of the tracker: every read and write of `events` and `flows` goes through here.

use anyhow::Context;
use chrono::{DateTime, Utc};
use event_bus::Envelope;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::recorded::RecordedEvent;

/// Stores `event` unless its message id is known, and brings its flow's summary up to date.
/// Both in the caller's transaction.
pub async fn record(db: &mut PgConnection, event: &RecordedEvent) -> anyhow::Result<()> {
    let inserted = sqlx::query(
        "INSERT INTO events (message_id, routing_key, flow_id, causation_id, occurred_at, \
         envelope, payload) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (message_id) DO NOTHING",
    )
    .bind(&event.envelope.message_id)
    .bind(&event.envelope.routing_key)
    .bind(event.flow_id)
    .bind(&event.envelope.causation_id)
    .bind(event.occurred_at)
    .bind(sqlx::types::Json(&event.envelope))
    .bind(&event.payload)
    .execute(&mut *db)
    .await
    .context("Failed to insert the event")?
    .rows_affected();
    let Some(flow_id) = event.flow_id.filter(|_| inserted == 1) else {
        return Ok(());
    };
    // In `SET`, `flows.*` is the row before the update.
    sqlx::query(
        "INSERT INTO flows (flow_id, events, first_at, last_at, last_routing_key, compensated) \
         VALUES ($1, 1, $2, $2, $3, $4) \
         ON CONFLICT (flow_id) DO UPDATE SET \
           events = flows.events + 1, \
           first_at = LEAST(flows.first_at, EXCLUDED.first_at), \
           last_at = GREATEST(flows.last_at, EXCLUDED.last_at), \
           last_routing_key = CASE WHEN EXCLUDED.last_at >= flows.last_at \
             THEN EXCLUDED.last_routing_key ELSE flows.last_routing_key END, \
           compensated = flows.compensated OR EXCLUDED.compensated",
    )
    .bind(flow_id)
    .bind(event.occurred_at)
    .bind(&event.envelope.routing_key)
    .bind(event.is_compensation())
    .execute(&mut *db)
    .await
    .context("Failed to update the flow's summary")?;
    Ok(())
}

/// A stored event of a flow, with the routing key of the message that caused it when the
/// tracker saw that one too.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredEvent {
    #[sqlx(json)]
    pub envelope: Envelope,
    pub cause_routing_key: Option<String>,
    pub occurred_at: DateTime<Utc>,
    pub payload: serde_json::Value,
}

/// Every event of the flow `flow_id`, by time (then id), with their causes' routing keys.
pub async fn flow_events(pool: &PgPool, flow_id: Uuid) -> anyhow::Result<Vec<StoredEvent>> {
    sqlx::query_as(
        "SELECT e.envelope, cause.routing_key AS cause_routing_key, e.occurred_at, e.payload \
         FROM events e LEFT JOIN events cause ON cause.message_id = e.causation_id \
         WHERE e.flow_id = $1 \
         ORDER BY e.occurred_at, e.message_id",
    )
    .bind(flow_id)
    .fetch_all(pool)
    .await
    .context("Failed to read the events of the flow")
}

/// The summary of one flow, for the list of recent ones.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct FlowSummary {
    pub order_id: Uuid,
    pub events: i32,
    pub first_at: DateTime<Utc>,
    pub last_at: DateTime<Utc>,
    pub last_routing_key: String,
    pub compensated: bool,
}

/// The `limit` flows with the latest events, latest first.
pub async fn recent_flows(pool: &PgPool, limit: i64) -> anyhow::Result<Vec<FlowSummary>> {
    sqlx::query_as(
        "SELECT flow_id AS order_id, events, first_at, last_at, last_routing_key, compensated \
         FROM flows ORDER BY last_at DESC, flow_id LIMIT $1",
    )
    .bind(limit)
    .fetch_all(pool)
    .await
    .context("Failed to read the recent flows")
}
