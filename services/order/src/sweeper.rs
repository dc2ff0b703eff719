//! Cancels the orders nobody answered for in time.
//!
//! Every tick, one transaction claims up to [`BATCH`] pending orders past their deadline with
//! `FOR UPDATE SKIP LOCKED` (so several instances sweep side by side, and an order a handler is
//! working on is left for the next tick), cancels each with reason `timeout` and stages its
//! `order.v1.cancelled`. A full batch is followed by another at once.
//!
//! Only pending orders the service submitted itself: a foreign one waits for billing's answer,
//! which names the customer to refund (`domain::foreign`), and is reported as stalled meanwhile.
//! Nor are confirmed orders past their deadline cancelled: their money and stock may well be
//! right, and shipping may only be late; they are reported ([`crate::stalled`]).

use std::time::Duration;

use anyhow::Context;
use event_bus::{EventTransaction, Outbox};
use service_kit::Next;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::domain::Outcome;
use crate::store::Cause;
use crate::transition;

/// Orders cancelled per transaction: bounds how long the rows stay locked.
pub const BATCH: usize = 100;

/// Sweeps every `every` until `shutdown`.
pub async fn run(outbox: Outbox, every: Duration, shutdown: CancellationToken) {
    service_kit::every(every, shutdown, || async {
        match sweep(&outbox).await {
            Ok(swept) if swept == BATCH => Next::Again,
            Ok(_) => Next::Wait,
            Err(error) => {
                tracing::warn!(error = ?error, "sweeping overdue orders failed; next tick retries");
                Next::Wait
            }
        }
    })
    .await;
}

/// Cancels one batch of overdue orders; returns how many it claimed.
pub async fn sweep(outbox: &Outbox) -> anyhow::Result<usize> {
    let mut tx = outbox.begin().await.context("Failed to begin a sweep")?;
    let overdue: Vec<Uuid> = sqlx::query_scalar(
        "SELECT id FROM orders
         WHERE status = 'pending' AND deadline_at <= now() AND origin = 'http'
         ORDER BY deadline_at
         LIMIT $1
         FOR UPDATE SKIP LOCKED",
    )
    .bind(BATCH as i64)
    .fetch_all(tx.db())
    .await
    .context("Failed to claim overdue orders")?;
    for id in &overdue {
        transition::run(&mut tx, *id, Outcome::DeadlinePassed, &Cause::timeout()).await?;
    }
    tx.commit().await.context("Failed to commit a sweep")?;
    Ok(overdue.len())
}
