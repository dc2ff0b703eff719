//! The transactional outbox.
//!
//! A service stages events with [`stage`] in the same transaction as its state change; a rolled
//! back transaction therefore publishes nothing. The [`Relay`] publishes committed rows with
//! confirms and marks them published. It wakes on every commit: [`stage`] sends a `NOTIFY`
//! (delivered only on commit, to every instance), and the consumer, which knows when its own
//! handler transaction committed, wakes the relay of its process directly instead (no `NOTIFY`
//! statement, no round trip through PostgreSQL). Wakes that arrive while a round runs fold into
//! one further round. The relay also polls, as a fallback. Rows are claimed with
//! `FOR UPDATE SKIP LOCKED`, so several instances of a service relay side by side without
//! publishing a row twice; a crash between commit and publish leaves the row pending, and it is
//! published by the next relay to run. A crash between publish and marking can publish a row
//! again, with the same message id, which the consumers' inbox absorbs.

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool, postgres::PgListener};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::{
    error::{Error, Result},
    event::Event,
    message::OutgoingMessage,
    publisher::Publisher,
    settings::OutboxSettings,
};

/// The channel the staging transactions notify and the relay listens on.
const NOTIFY_CHANNEL: &str = "event_bus_outbox";

/// Stages `message` in the transaction (or connection) `connection`, and has every relay woken
/// when it commits.
pub async fn stage(connection: &mut PgConnection, message: &OutgoingMessage) -> Result<()> {
    insert(connection, message).await?;
    sqlx::query("SELECT pg_notify($1, '')")
        .bind(NOTIFY_CHANNEL)
        .execute(connection)
        .await
        .map_err(Error::db("notifying the outbox relay"))?;
    Ok(())
}

/// Stages `message` without a `NOTIFY`: for a caller that wakes its relay itself after the commit
/// (the consumer, through [`RelayWake`]).
pub(crate) async fn insert(connection: &mut PgConnection, message: &OutgoingMessage) -> Result<()> {
    let payload: &serde_json::value::RawValue =
        serde_json::from_slice(&message.payload).map_err(|source| Error::Encode {
            routing_key: message.routing_key.clone(),
            source,
        })?;
    sqlx::query(
        "INSERT INTO event_bus_outbox
             (message_id, exchange, routing_key, version, correlation_id, causation_id, payload,
              created_at, traceparent)
         VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9)",
    )
    .bind(message.message_id)
    .bind(&message.exchange)
    .bind(&message.routing_key)
    .bind(message.version as i32)
    .bind(&message.correlation_id)
    .bind(&message.causation_id)
    .bind(payload.get())
    .bind(message.timestamp)
    .bind(&message.traceparent)
    .execute(&mut *connection)
    .await
    .map_err(Error::db("staging an event in the outbox"))?;
    Ok(())
}

/// Wakes the relay of this process once a transaction that staged rows has committed. Wakes
/// given while the relay is busy are kept as one, so a burst of commits costs one more round.
#[derive(Debug, Clone, Default)]
pub(crate) struct RelayWake(Arc<Notify>);

impl RelayWake {
    pub(crate) fn wake(&self) {
        self.0.notify_one();
    }

    async fn woken(&self) {
        self.0.notified().await;
    }
}

/// Stages `event` as a new step of the flow `correlation_id` (with no causing message).
pub async fn stage_event<E: Event>(
    connection: &mut PgConnection,
    event: &E,
    correlation_id: &str,
) -> Result<Uuid> {
    let message = OutgoingMessage::new(event, correlation_id, None)?;
    stage(connection, &message).await?;
    Ok(message.message_id)
}

/// How many rows wait to be published, and since when the oldest waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backlog {
    pub pending: i64,
    pub oldest: Option<DateTime<Utc>>,
}

/// Reads the outbox backlog.
pub async fn backlog(pool: &PgPool) -> Result<Backlog> {
    let (pending, oldest): (i64, Option<DateTime<Utc>>) = sqlx::query_as(
        "SELECT count(*), min(created_at) FROM event_bus_outbox WHERE published_at IS NULL",
    )
    .fetch_one(pool)
    .await
    .map_err(Error::db("reading the outbox backlog"))?;
    Ok(Backlog { pending, oldest })
}

#[derive(sqlx::FromRow)]
struct PendingRow {
    id: i64,
    message_id: Uuid,
    exchange: String,
    routing_key: String,
    version: i32,
    correlation_id: String,
    causation_id: Option<String>,
    payload: sqlx::types::Json<Box<serde_json::value::RawValue>>,
    created_at: DateTime<Utc>,
    traceparent: Option<String>,
}

impl From<PendingRow> for OutgoingMessage {
    fn from(row: PendingRow) -> Self {
        Self {
            message_id: row.message_id,
            exchange: row.exchange,
            routing_key: row.routing_key,
            version: u32::try_from(row.version).unwrap_or_default(),
            correlation_id: row.correlation_id,
            causation_id: row.causation_id,
            timestamp: row.created_at,
            payload: row.payload.0.get().as_bytes().to_vec(),
            traceparent: row.traceparent,
        }
    }
}

/// Publishes committed outbox rows.
pub struct Relay {
    pool: PgPool,
    publisher: Publisher,
    settings: OutboxSettings,
    wake: RelayWake,
}

impl Relay {
    pub(crate) fn new(
        pool: PgPool,
        publisher: Publisher,
        settings: OutboxSettings,
        wake: RelayWake,
    ) -> Self {
        Self {
            pool,
            publisher,
            settings,
            wake,
        }
    }

    /// Relays until `shutdown`, then flushes what is pending while the broker is still there.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut listener = self.listen().await;
        let poll = Duration::from_millis(self.settings.poll_interval_ms.max(10));
        let mut last_cleanup = tokio::time::Instant::now();
        let mut last_gauge = tokio::time::Instant::now();
        while !shutdown.is_cancelled() {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = self.publisher.connected() => {}
            }
            match self.drain().await {
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(error = %error, "outbox relay round failed; retrying");
                    tokio::select! {
                        _ = shutdown.cancelled() => break,
                        _ = tokio::time::sleep(poll) => {}
                    }
                    continue;
                }
            }
            if last_gauge.elapsed() >= Duration::from_secs(1) {
                last_gauge = tokio::time::Instant::now();
                self.report_backlog().await;
            }
            if last_cleanup.elapsed() >= poll * 60 {
                last_cleanup = tokio::time::Instant::now();
                if let Err(error) = self.cleanup().await {
                    tracing::warn!(error = %error, "outbox cleanup failed");
                }
            }
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = wait_for_notification(&mut listener) => {}
                _ = self.wake.woken() => {}
                _ = tokio::time::sleep(poll) => {}
            }
            // The coming round publishes whatever these announced: one round answers them all.
            // What commits during the round notifies anew and is caught by the next one.
            if let Some(listener) = listener.as_mut() {
                while listener.next_buffered().is_some() {}
            }
        }
        if let Err(error) = self.drain().await {
            tracing::warn!(error = %error, "outbox could not be flushed at shutdown; rows stay pending");
        }
    }

    async fn listen(&self) -> Option<PgListener> {
        let mut listener = PgListener::connect_with(&self.pool)
            .await
            .inspect_err(|error| tracing::warn!(%error, "outbox relay cannot LISTEN; polling only"))
            .ok()?;
        listener
            .listen(NOTIFY_CHANNEL)
            .await
            .inspect_err(|error| tracing::warn!(%error, "outbox relay cannot LISTEN; polling only"))
            .ok()?;
        Some(listener)
    }

    /// Publishes rounds until nothing is pending; returns how many rows were published.
    pub async fn drain(&self) -> Result<usize> {
        let mut total = 0;
        loop {
            let published = self.publish_round().await?;
            total += published;
            if published < self.settings.batch_size.max(1) as usize {
                return Ok(total);
            }
        }
    }

    /// Claims one batch, publishes it with pipelined confirms, and marks what the broker took.
    async fn publish_round(&self) -> Result<usize> {
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(Error::db("beginning an outbox round"))?;
        let rows: Vec<PendingRow> = sqlx::query_as(
            "SELECT id, message_id, exchange, routing_key, version, correlation_id, causation_id,
                    payload, created_at, traceparent
             FROM event_bus_outbox WHERE published_at IS NULL
             ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
        )
        .bind(self.settings.batch_size.max(1))
        .fetch_all(&mut *tx)
        .await
        .map_err(Error::db("claiming outbox rows"))?;
        if rows.is_empty() {
            return Ok(0);
        }
        // The claim's snapshot may predate a rival relay's commit (it can wait on a lock after
        // taking it). Now that the rows are locked by us, a fresh read tells which are still
        // pending, so a row is never published twice by two relays.
        let claimed: Vec<i64> = rows.iter().map(|row| row.id).collect();
        let pending: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM event_bus_outbox WHERE id = ANY($1) AND published_at IS NULL",
        )
        .bind(&claimed)
        .fetch_all(&mut *tx)
        .await
        .map_err(Error::db("re-reading claimed outbox rows"))?;
        let rows: Vec<PendingRow> = rows
            .into_iter()
            .filter(|row| pending.contains(&row.id))
            .collect();
        if rows.is_empty() {
            return Ok(0);
        }
        let ids: Vec<i64> = rows.iter().map(|row| row.id).collect();
        let messages: Vec<OutgoingMessage> = rows.into_iter().map(Into::into).collect();
        let outcomes = self.publisher.publish_batch(&messages).await?;

        let mut published = Vec::with_capacity(ids.len());
        let mut unroutable = Vec::new();
        let mut first_failure = None;
        for (id, outcome) in ids.into_iter().zip(outcomes) {
            match outcome {
                Ok(()) => published.push(id),
                // Nobody listens yet: retrying would not change that, and holding the row would
                // stall every later one. The publisher has logged it; the row keeps the mark.
                Err(Error::Unroutable { .. }) => unroutable.push(id),
                Err(error) => {
                    first_failure.get_or_insert(error);
                }
            }
        }
        sqlx::query(
            "UPDATE event_bus_outbox SET published_at = now(), unroutable = (id = ANY($2))
             WHERE id = ANY($1) OR id = ANY($2)",
        )
        .bind(&published)
        .bind(&unroutable)
        .execute(&mut *tx)
        .await
        .map_err(Error::db("marking outbox rows published"))?;
        tx.commit()
            .await
            .map_err(Error::db("committing an outbox round"))?;
        match first_failure {
            Some(error) => Err(error),
            None => Ok(published.len() + unroutable.len()),
        }
    }

    /// Publishes the backlog as gauges: rows pending and the age of the oldest.
    async fn report_backlog(&self) {
        match backlog(&self.pool).await {
            Ok(Backlog { pending, oldest }) => {
                metrics::gauge!("bus_outbox_pending").set(pending as f64);
                let age = oldest.map_or(0.0, |oldest| {
                    (Utc::now() - oldest).num_milliseconds().max(0) as f64 / 1000.0
                });
                metrics::gauge!("bus_outbox_oldest_age_seconds").set(age);
            }
            Err(error) => tracing::debug!(%error, "could not read the outbox backlog"),
        }
    }

    /// Deletes rows published longer ago than the retention.
    async fn cleanup(&self) -> Result<()> {
        sqlx::query(
            "DELETE FROM event_bus_outbox
             WHERE published_at < now() - make_interval(secs => $1)",
        )
        .bind(self.settings.retention_secs as f64)
        .execute(&self.pool)
        .await
        .map_err(Error::db("deleting old outbox rows"))?;
        Ok(())
    }
}

/// Resolves on the next notification; never, when LISTEN is unavailable (polling covers it).
async fn wait_for_notification(listener: &mut Option<PgListener>) {
    match listener {
        Some(listener) => {
            if let Err(error) = listener.recv().await {
                tracing::debug!(%error, "outbox LISTEN connection lost; it reconnects");
            }
        }
        None => std::future::pending().await,
    }
}
