//! The stalled orders: those past the deadline of their status. A pending order's deadline is
//! its `deadline_at`, fixed at submission (the sweeper cancels it then, so one still pending
//! after it means the sweeper is failing, or the order is foreign and waits for billing); a
//! confirmed order's is the moment it was confirmed plus the confirmed deadline (logistics
//! ships within it, unless a message was lost). Shipped and cancelled are final: no deadline.
//!
//! Both statements are served by the partial indexes of pending orders by deadline and of
//! confirmed orders by age, so they cost little however many orders are final.

use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

use crate::domain::{Origin, Status};

/// The condition of a stalled order, `$1` being the confirmed deadline in seconds.
const STALLED: &str = "(status = 'pending' AND deadline_at <= now())
     OR (status = 'confirmed' AND status_since <= now() - make_interval(secs => $1))";

/// One stalled order, as `GET /orders?stalled=true` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct StalledOrder {
    pub id: Uuid,
    /// `pending` or `confirmed`.
    pub status: Status,
    /// When the order took that status.
    pub since: DateTime<Utc>,
    /// When the deadline of that status passed.
    pub deadline_at: DateTime<Utc>,
    /// `foreign` for an order another producer submitted, waiting for billing's answer.
    pub origin: Origin,
}

/// How many orders are stalled in each status that has a deadline.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StalledCounts {
    pub pending: i64,
    pub confirmed: i64,
}

impl StalledCounts {
    /// Each status with a deadline and its count.
    pub fn by_status(self) -> [(Status, i64); 2] {
        [
            (Status::Pending, self.pending),
            (Status::Confirmed, self.confirmed),
        ]
    }
}

#[derive(sqlx::FromRow)]
struct StalledRow {
    id: Uuid,
    status: String,
    since: DateTime<Utc>,
    due: DateTime<Utc>,
    origin: String,
}

/// Up to `limit` stalled orders, the longest overdue first.
pub async fn stalled(
    pool: &PgPool,
    confirmed_deadline: Duration,
    limit: i64,
) -> anyhow::Result<Vec<StalledOrder>> {
    let rows: Vec<StalledRow> = sqlx::query_as(&format!(
        "SELECT id, status, status_since AS since, origin,
                CASE WHEN status = 'pending' THEN deadline_at
                     ELSE status_since + make_interval(secs => $1) END AS due
         FROM orders
         WHERE {STALLED}
         ORDER BY due, id
         LIMIT $2"
    ))
    .bind(confirmed_deadline.as_secs_f64())
    .bind(limit)
    .fetch_all(pool)
    .await
    .context("Failed to read the stalled orders")?;
    rows.into_iter()
        .map(|row| {
            Ok(StalledOrder {
                id: row.id,
                status: Status::parse(&row.status).with_context(|| {
                    format!("Order {} has an unknown status {:?}", row.id, row.status)
                })?,
                since: row.since,
                deadline_at: row.due,
                origin: Origin::parse(&row.origin).with_context(|| {
                    format!("Order {} has an unknown origin {:?}", row.id, row.origin)
                })?,
            })
        })
        .collect()
}

/// How many orders are stalled, by status.
pub async fn count_stalled(
    pool: &PgPool,
    confirmed_deadline: Duration,
) -> anyhow::Result<StalledCounts> {
    let rows: Vec<(String, i64)> = sqlx::query_as(&format!(
        "SELECT status, count(*) FROM orders WHERE {STALLED} GROUP BY status"
    ))
    .bind(confirmed_deadline.as_secs_f64())
    .fetch_all(pool)
    .await
    .context("Failed to count the stalled orders")?;
    let mut counts = StalledCounts::default();
    for (status, count) in rows {
        match Status::parse(&status) {
            Some(Status::Pending) => counts.pending = count,
            Some(Status::Confirmed) => counts.confirmed = count,
            _ => anyhow::bail!("A stalled order has the status {status:?}, which has no deadline"),
        }
    }
    Ok(counts)
}
