//! Cancels the orders nobody answered for in time.
//!
//! Every tick, one transaction claims up to [`BATCH`] pending orders past their deadline with
//! `FOR UPDATE SKIP LOCKED` (so several instances sweep side by side, and an order a handler is
//! working on is left for the next tick), cancels each with reason `timeout` and stages its
//! `order.v1.cancelled`. A full batch is followed by another at once.

use std::time::Duration;

use anyhow::Context;
use sqlx::PgPool;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::domain::Outcome;
use crate::store::Cause;
use crate::transition;

/// Orders cancelled per transaction: bounds how long the rows stay locked.
pub const BATCH: usize = 100;

/// Sweeps every `every` until `shutdown`.
pub async fn run(pool: PgPool, every: Duration, shutdown: CancellationToken) {
    let mut ticker = tokio::time::interval(every.max(Duration::from_millis(10)));
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = ticker.tick() => {}
        }
        while !shutdown.is_cancelled() {
            match sweep(&pool).await {
                Ok(swept) if swept == BATCH => continue,
                Ok(_) => break,
                Err(error) => {
                    tracing::warn!(error = ?error, "sweeping overdue orders failed; next tick retries");
                    break;
                }
            }
        }
    }
}

/// Cancels one batch of overdue orders; returns how many it claimed.
pub async fn sweep(pool: &PgPool) -> anyhow::Result<usize> {
    let mut tx = pool.begin().await.context("Failed to begin a sweep")?;
    let overdue: Vec<Uuid> = sqlx::query_scalar(
        "SELECT id FROM orders
         WHERE status = 'pending' AND deadline_at <= now()
         ORDER BY deadline_at
         LIMIT $1
         FOR UPDATE SKIP LOCKED",
    )
    .bind(BATCH as i64)
    .fetch_all(&mut *tx)
    .await
    .context("Failed to claim overdue orders")?;
    for id in &overdue {
        let announcement =
            transition::run(&mut tx, *id, Outcome::DeadlinePassed, &Cause::timeout()).await?;
        if let Some(announcement) = announcement {
            announcement
                .stage(&mut tx)
                .await
                .with_context(|| format!("Failed to stage the cancellation of order {id}"))?;
        }
    }
    tx.commit().await.context("Failed to commit a sweep")?;
    Ok(overdue.len())
}
