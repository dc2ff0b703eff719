//! The SQL of the tracker: every read and write of `events` and `flows` goes through here.

use std::time::Duration;

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

/// What one round of [`prune`] deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    /// Flows deleted (with their events).
    pub flows: u64,
    /// Events deleted: those of the deleted flows and those of no flow.
    pub events: u64,
    /// Of `events`, those of no flow.
    pub flowless: u64,
}

impl Pruned {
    /// Whether a batch of `batch` came back full: more is likely waiting.
    pub fn full(&self, batch: i64) -> bool {
        let batch = u64::try_from(batch).unwrap_or(0);
        self.flows >= batch || self.flowless >= batch
    }
}

/// Deletes up to `batch` flows whose last activity is older than `retention`, with all their
/// events, and up to `batch` events of no flow older than it.
///
/// The flows are locked and deleted first, their events in a second statement of the same
/// transaction: a recorder adding an event to one of them waits on its flow's row, so either
/// its event was committed before (and this statement, which sees it, deletes it) or it is
/// stored after, as the first event of a new summary of the flow. A flow being updated right now
/// is skipped.
pub async fn prune(pool: &PgPool, retention: Duration, batch: i64) -> anyhow::Result<Pruned> {
    let mut tx = pool
        .begin()
        .await
        .context("Failed to begin deleting old flows")?;
    let flows: Vec<Uuid> = sqlx::query_scalar(
        "DELETE FROM flows WHERE flow_id IN ( \
           SELECT flow_id FROM flows \
           WHERE last_at < now() - make_interval(secs => $1) \
           ORDER BY last_at \
           LIMIT $2 \
           FOR UPDATE SKIP LOCKED) \
         RETURNING flow_id",
    )
    .bind(retention.as_secs_f64())
    .bind(batch)
    .fetch_all(&mut *tx)
    .await
    .context("Failed to delete the flows past their retention")?;
    let of_flows = sqlx::query("DELETE FROM events WHERE flow_id = ANY($1)")
        .bind(&flows)
        .execute(&mut *tx)
        .await
        .context("Failed to delete the events of the flows past their retention")?
        .rows_affected();
    let flowless = sqlx::query(
        "DELETE FROM events WHERE message_id IN ( \
           SELECT message_id FROM events \
           WHERE flow_id IS NULL AND occurred_at < now() - make_interval(secs => $1) \
           ORDER BY occurred_at \
           LIMIT $2 \
           FOR UPDATE SKIP LOCKED)",
    )
    .bind(retention.as_secs_f64())
    .bind(batch)
    .execute(&mut *tx)
    .await
    .context("Failed to delete the events of no flow past their retention")?
    .rows_affected();
    tx.commit()
        .await
        .context("Failed to commit deleting old flows")?;
    Ok(Pruned {
        flows: flows.len() as u64,
        events: of_flows + flowless,
        flowless,
    })
}
