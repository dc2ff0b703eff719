//! All of loyalty's SQL: the `points` table, one row per confirmed order.

use anyhow::Context;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

/// A customer's points, and how many orders earned them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Balance {
    pub points: i64,
    pub orders: i64,
}

/// Records the points of an order, once: the primary key on `order_id` ignores a second award.
pub async fn award(
    connection: &mut PgConnection,
    order_id: Uuid,
    customer_id: &str,
    points: i64,
) -> anyhow::Result<()> {
    sqlx::query("INSERT INTO points VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
        .bind(order_id)
        .bind(customer_id)
        .bind(points)
        .execute(connection)
        .await
        .context("Failed to award the points")?;
    Ok(())
}

/// The customer's balance; zeros for a customer without confirmed orders.
pub async fn balance(pool: &PgPool, customer_id: &str) -> anyhow::Result<Balance> {
    let (points, orders): (i64, i64) = sqlx::query_as(
        "SELECT coalesce(sum(points), 0)::int8, count(*) FROM points WHERE customer_id = $1",
    )
    .bind(customer_id)
    .fetch_one(pool)
    .await
    .context("Failed to add the points up")?;
    Ok(Balance { points, orders })
}
