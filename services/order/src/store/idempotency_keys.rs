//! The retention of idempotency keys: a key past it is cleared, so that it no longer answers
//! its order and the same key places a new one. Only the key goes (set NULL, which the unique
//! index never counts as a conflict); the order, its lines and its history stay.

use std::time::Duration;

use anyhow::Context;
use sqlx::PgPool;

/// Clears the keys of up to `limit` orders created more than `retention` ago, the oldest first;
/// returns how many.
///
/// One short transaction per call, served by the partial index of keyed orders by creation
/// (`orders_keyed_by_created`). Rows locked by a handler or another instance are skipped
/// (`SKIP LOCKED`) and cleared by a later call, so clearing never waits for, nor holds up, the
/// work on an order for long.
pub async fn forget_idempotency_keys(
    pool: &PgPool,
    retention: Duration,
    limit: i64,
) -> anyhow::Result<u64> {
    let forgotten = sqlx::query(
        "UPDATE orders SET idempotency_key = NULL
         WHERE id IN (
             SELECT id FROM orders
             WHERE idempotency_key IS NOT NULL
               AND created_at < now() - make_interval(secs => $1)
             ORDER BY created_at
             LIMIT $2
             FOR UPDATE SKIP LOCKED
         )",
    )
    .bind(retention.as_secs_f64())
    .bind(limit)
    .execute(pool)
    .await
    .context("Failed to forget the idempotency keys past their retention")?;
    Ok(forgotten.rows_affected())
}
