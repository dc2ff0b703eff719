//! Idempotency keys are kept for a retention (`idempotency_key_retention_secs`), then forgotten.
//!
//! A key only has to outlive the client's retries, which come within minutes, or hours after
//! an outage. Past the retention it is cleared from its order, in batches of at most [`BATCH`]
//! (one short transaction each, so a large backlog never holds many rows locked for long), and
//! the same key then places a new order. The order itself, with its history, is kept.

use std::time::Duration;

use service_kit::Next;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::store;

/// Keys forgotten per transaction: bounds how many rows one round locks.
pub const BATCH: i64 = 1_000;

/// How often [`run`] looks for keys past their retention: a key may outlive it by this much,
/// which a retention of hours makes negligible, and a round finding nothing costs one read of
/// an index.
pub const PERIOD: Duration = Duration::from_secs(60);

/// Forgets the keys past `retention` every [`PERIOD`] until `shutdown`.
pub async fn run(pool: PgPool, retention: Duration, shutdown: CancellationToken) {
    service_kit::every(PERIOD, shutdown, || async {
        match forget(&pool, retention).await {
            Ok(forgotten) if forgotten >= BATCH as u64 => Next::Again,
            Ok(_) => Next::Wait,
            Err(error) => {
                tracing::warn!(error = ?error, "forgetting idempotency keys failed; next tick retries");
                Next::Wait
            }
        }
    })
    .await;
}

/// One round: forgets one batch of keys of orders created more than `retention` ago; returns
/// how many.
pub async fn forget(pool: &PgPool, retention: Duration) -> anyhow::Result<u64> {
    let forgotten = store::forget_idempotency_keys(pool, retention, BATCH).await?;
    if forgotten > 0 {
        tracing::debug!(forgotten, "idempotency keys past their retention forgotten");
    }
    Ok(forgotten)
}
