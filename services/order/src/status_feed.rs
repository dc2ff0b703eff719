//! Tells the requests that wait for an order (`GET /orders/{id}?wait=`) when it may have changed.
//!
//! Every status change runs `NOTIFY order_status, '<id>'` in its transaction; PostgreSQL delivers
//! it on commit, to every instance. One [`PgListener`] per instance receives them and fans the
//! ids out through a broadcast channel; a waiter re-reads its order when its id comes by. A
//! notification can be lost (the listener reconnecting, a lagging receiver), so waiters also
//! re-read on a slow timer: notifications make the answer fast, the timer makes it certain.

use std::time::Duration;

use anyhow::Context;
use sqlx::postgres::PgListener;
use sqlx::{PgConnection, PgPool};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// The channel status changes are notified on.
pub const CHANNEL: &str = "order_status";

/// How many ids may queue for a slow waiter before it lags (and then simply re-reads).
const CAPACITY: usize = 1024;

/// First and largest pause before listening again after the connection was lost.
const RECONNECT_MIN: Duration = Duration::from_millis(100);
const RECONNECT_MAX: Duration = Duration::from_secs(5);

/// Notifies the waiters of order `id`, when the transaction of `connection` commits.
pub async fn notify(connection: &mut PgConnection, id: Uuid) -> anyhow::Result<()> {
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(CHANNEL)
        .bind(id.to_string())
        .execute(connection)
        .await
        .with_context(|| format!("Failed to notify the waiters of order {id}"))?;
    Ok(())
}

/// The ids of orders whose status changed, as they are committed by any instance.
#[derive(Debug, Clone)]
pub struct StatusFeed {
    sender: broadcast::Sender<Uuid>,
}

impl Default for StatusFeed {
    fn default() -> Self {
        Self::new()
    }
}

impl StatusFeed {
    pub fn new() -> Self {
        let (sender, _) = broadcast::channel(CAPACITY);
        Self { sender }
    }

    /// Receives every id changed from now on. Subscribe before reading the order, so that a
    /// change committed between the read and the wait is not missed.
    pub fn subscribe(&self) -> broadcast::Receiver<Uuid> {
        self.sender.subscribe()
    }

    /// Listens until `shutdown`, reconnecting with backoff when the connection is lost.
    pub async fn run(self, pool: PgPool, shutdown: CancellationToken) {
        let mut backoff = RECONNECT_MIN;
        while !shutdown.is_cancelled() {
            let started = tokio::time::Instant::now();
            match self.listen(&pool, &shutdown).await {
                Ok(()) => return,
                Err(error) => {
                    tracing::warn!(error = ?error, retry_in_ms = backoff.as_millis() as u64,
                        "order status listener lost; waiters fall back to re-reading");
                }
            }
            // A connection that lived long failed for a new reason: start the backoff over.
            if started.elapsed() > RECONNECT_MAX {
                backoff = RECONNECT_MIN;
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(RECONNECT_MAX);
        }
    }

    /// One connection's life: `Ok` on shutdown, `Err` when the connection fails.
    async fn listen(&self, pool: &PgPool, shutdown: &CancellationToken) -> anyhow::Result<()> {
        let mut listener = PgListener::connect_with(pool)
            .await
            .context("Failed to connect the order status listener")?;
        listener
            .listen(CHANNEL)
            .await
            .with_context(|| format!("Failed to LISTEN on {CHANNEL}"))?;
        loop {
            let notification = tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                received = listener.recv() => received.context("Failed to receive a notification")?,
            };
            match notification.payload().parse::<Uuid>() {
                // No receiver means nobody waits right now, which is fine.
                Ok(id) => drop(self.sender.send(id)),
                Err(_) => tracing::warn!(
                    payload = notification.payload(),
                    "ignoring a notification that is not an order id"
                ),
            }
        }
    }
}
