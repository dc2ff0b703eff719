//! Cancellation tombstones: the ids of orders whose cancellation a service has seen.
//!
//! A cancellation may overtake the submit it undoes. A service that compensates (billing refunds,
//! logistics releases) records the cancellation whatever it finds, and checks for it before it
//! acts on a submit: a submit arriving after its cancellation then does nothing. Both calls run
//! on the handler's transaction. The table is the service's own, created by its migrations:
//! `cancelled_orders (order_id UUID PRIMARY KEY, at TIMESTAMPTZ NOT NULL DEFAULT now())`.
//!
//! A tombstone only has to outlast the submit it waits for, which is at most as late as the
//! inbox remembers a message (`bus.inbox_retention_secs`): [`keep_pruned`] deletes older ones.

use std::time::Duration;

use anyhow::Context;
use sqlx::{PgConnection, PgPool};

use crate::ServiceApp;
use uuid::Uuid;

/// Whether a cancellation of the order was seen.
pub async fn is_cancelled(connection: &mut PgConnection, order_id: Uuid) -> anyhow::Result<bool> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM cancelled_orders WHERE order_id = $1)")
        .bind(order_id)
        .fetch_one(connection)
        .await
        .context("Failed to look the cancellation up")
}

/// Remembers that the order is cancelled (once: a repeated cancellation changes nothing), so
/// that a submit arriving later does nothing.
pub async fn record_cancellation(
    connection: &mut PgConnection,
    order_id: Uuid,
) -> anyhow::Result<()> {
    sqlx::query("INSERT INTO cancelled_orders (order_id) VALUES ($1) ON CONFLICT DO NOTHING")
        .bind(order_id)
        .execute(connection)
        .await
        .context("Failed to record the cancellation")?;
    Ok(())
}

/// Deletes the tombstones older than `retention`; returns how many.
pub async fn prune(pool: &PgPool, retention: Duration) -> anyhow::Result<u64> {
    let deleted =
        sqlx::query("DELETE FROM cancelled_orders WHERE at < now() - make_interval(secs => $1)")
            .bind(retention.as_secs_f64())
            .execute(pool)
            .await
            .context("Failed to prune the cancellation tombstones")?;
    Ok(deleted.rows_affected())
}

/// Has `app` prune its tombstones older than `retention` every hour, until it stops.
pub fn keep_pruned(app: &ServiceApp, retention: Duration) {
    let pool = app.pool().clone();
    let shutdown = app.shutdown().clone();
    app.spawn(async move {
        crate::every(Duration::from_secs(3_600), shutdown, || async {
            if let Err(error) = prune(&pool, retention).await {
                tracing::warn!(error = ?error, "pruning the tombstones failed; the next round retries");
            }
            crate::Next::Wait
        })
        .await;
    });
}
