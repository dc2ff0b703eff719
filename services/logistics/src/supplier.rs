//! The simulated supplier: delivers each replenishment once it is due.
//!
//! It stands in for a real supplier's delivery: a background task of every instance that, on
//! each tick, claims the due replenishments in one transaction (`FOR UPDATE SKIP LOCKED`, so
//! instances share the work without delivering anything twice), adds their units to stock and
//! marks them done.

use std::time::Duration;

use service_kit::Next;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::store;

/// Runs supplier rounds every `interval` until `shutdown` is cancelled; a round in progress
/// finishes first. A failed round is logged and retried at the next tick.
pub async fn run(pool: PgPool, interval: Duration, shutdown: CancellationToken) {
    service_kit::every(interval, shutdown, || async {
        match store::deliver_due(&pool).await {
            Ok(deliveries) => {
                for delivery in deliveries {
                    tracing::info!(sku = %delivery.sku, quantity = delivery.quantity, "restocked by the supplier");
                }
            }
            Err(error) => {
                tracing::warn!(error = ?error, "supplier round failed; retrying at the next tick");
            }
        }
        Next::Wait
    })
    .await;
    tracing::debug!("the supplier stopped");
}
