//! The writes of foreign orders: submitted by another producer, first heard of through billing's
//! or logistics' answer (see `domain::foreign` for why they are recorded, and refused).

use std::time::Duration;

use anyhow::Context;
use sqlx::PgConnection;
use uuid::Uuid;

use super::orders::{Cause, LockedOrder};
use crate::domain::{Origin, Payer, Status};

/// Records order `id`, which the service never stored, as a foreign one: `pending`, with its
/// first history row caused by `cause` (the answer that revealed it), the customer and amount
/// from `payer` when billing's answer is the one (`''` and 0 until then), and `deadline` to wait
/// for billing's answer before it is reported as stalled. Nothing if the order exists by then:
/// a concurrent answer that inserted it first makes `ON CONFLICT DO NOTHING` wait for its
/// transaction, so the caller locks the order afterwards either way. `true` if it was inserted.
///
/// See `domain::foreign` for why foreign orders are recorded, and refused.
pub async fn record_foreign(
    connection: &mut PgConnection,
    id: Uuid,
    payer: Option<&Payer>,
    deadline: Duration,
    cause: &Cause,
) -> anyhow::Result<bool> {
    let inserted: i64 = sqlx::query_scalar(
        "WITH placed AS (
             INSERT INTO orders (id, customer_id, email, currency, total_cents, status,
                                 deadline_at, created_at, updated_at, status_since, origin)
             VALUES ($1, $2, '', '', $3, $4, now() + make_interval(secs => $5), now(), now(),
                     now(), $6)
             ON CONFLICT (id) DO NOTHING
             RETURNING id
         ), logged AS (
             INSERT INTO order_history (order_id, status, event, message_id, at)
             SELECT id, $4, $7, $8, now() FROM placed
         )
         SELECT count(*) FROM placed",
    )
    .bind(id)
    .bind(payer.map_or("", |payer| payer.customer_id.as_str()))
    .bind(payer.map_or(0, |payer| payer.amount_cents.max(0)))
    .bind(Status::Pending.as_str())
    .bind(deadline.as_secs_f64())
    .bind(Origin::Foreign.as_str())
    .bind(&cause.event)
    .bind(&cause.message_id)
    .fetch_one(connection)
    .await
    .with_context(|| format!("Failed to record foreign order {id}"))?;
    Ok(inserted == 1)
}

/// Fills in the customer and amount of the locked foreign `order` from billing's answer, in the
/// row and in `order`, so that its cancellation names the customer billing refunds.
pub async fn name_payer(
    connection: &mut PgConnection,
    order: &mut LockedOrder,
    payer: &Payer,
) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE orders SET customer_id = $2, total_cents = $3, updated_at = now()
         WHERE id = $1 AND origin = $4",
    )
    .bind(order.id)
    .bind(&payer.customer_id)
    .bind(payer.amount_cents.max(0))
    .bind(Origin::Foreign.as_str())
    .execute(connection)
    .await
    .with_context(|| format!("Failed to name the customer of foreign order {}", order.id))?;
    order.customer_id.clone_from(&payer.customer_id);
    order.total_cents = payer.amount_cents.max(0);
    Ok(())
}
