//! How the confirmed orders of a phase ended, read from the order service's own records.
//!
//! A journey holds one request per order (`?wait=&until=confirmed`): what a customer waits for.
//! A second one held until `shipped` cost the order service a request, a token check and two
//! reads of the order per order (about a third of its transactions in the closed loop), which is
//! the cost of measuring, not of the shop. Instead, once a phase's journeys have seen their
//! orders confirmed, [`OrderRecords::settle`] asks the order database how many of them are not
//! final yet, every [`POLL`], until none is (or [`PATIENCE`](crate::journey::PATIENCE) has
//! passed), then reads the `confirmed`, `shipped` and `cancelled` entries of their histories in
//! one statement: the same timestamps, stamped by the order service, that the held request
//! returned. The phase ends there, so the shipping is inside the phase's measured CPU; the polls
//! are a few statements per phase.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use anyhow::Context;
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use crate::journey::{End, Journey, PATIENCE};

/// How often the order database is asked whether the phase's orders are final.
pub const POLL: Duration = Duration::from_millis(20);

/// Reads the order service's database.
#[derive(Debug, Clone)]
pub struct OrderRecords {
    pool: PgPool,
}

/// One row of [`OrderRecords::histories`].
#[derive(sqlx::FromRow)]
struct History {
    order_id: Uuid,
    #[sqlx(flatten)]
    recorded: Recorded,
}

/// What the history of one order says.
#[derive(Debug, Default, Clone, Copy, sqlx::FromRow)]
struct Recorded {
    confirmed: Option<DateTime<Utc>>,
    shipped: Option<DateTime<Utc>>,
    cancelled: Option<DateTime<Utc>>,
}

impl OrderRecords {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// Waits until every journey [`End::AwaitingShipment`] has its order final, then sets how
    /// each ended: shipped or cancelled, with the times of its history; stuck when it is not
    /// final [`PATIENCE`] after it was due.
    pub async fn settle(&self, journeys: &mut [Journey]) -> anyhow::Result<()> {
        let waiting: Vec<Uuid> = journeys
            .iter()
            .filter(|journey| journey.end == End::AwaitingShipment)
            .filter_map(|journey| journey.order_id)
            .collect();
        let last_due = journeys.iter().map(|journey| journey.due.instant).max();
        let (false, Some(last_due)) = (waiting.is_empty(), last_due) else {
            return Ok(());
        };
        let give_up = last_due + PATIENCE;
        while self.unfinished(&waiting).await? > 0 && std::time::Instant::now() < give_up {
            tokio::time::sleep(POLL).await;
        }
        let recorded = self.histories(&waiting).await?;
        for journey in journeys
            .iter_mut()
            .filter(|journey| journey.end == End::AwaitingShipment)
        {
            let found = journey
                .order_id
                .and_then(|id| recorded.get(&id).copied())
                .unwrap_or_default();
            journey.confirmed_recorded = found.confirmed.map(|at| journey.due.until(at));
            if let Some(shipped) = found.shipped {
                journey.shipped = Some(journey.due.until(shipped));
                journey.finished = shipped.into();
                journey.end = End::Shipped;
            } else if let Some(cancelled) = found.cancelled {
                journey.finished = cancelled.into();
                journey.end = End::Cancelled;
            } else {
                journey.finished = SystemTime::now();
                journey.end = End::Stuck;
            }
        }
        Ok(())
    }

    /// How many of `ids` are neither shipped nor cancelled.
    async fn unfinished(&self, ids: &[Uuid]) -> anyhow::Result<i64> {
        sqlx::query_scalar(
            "SELECT count(*) FROM orders
             WHERE id = ANY($1) AND status NOT IN ('shipped', 'cancelled')",
        )
        .bind(ids)
        .fetch_one(&self.pool)
        .await
        .context("Failed to count the phase's orders that are not final")
    }

    /// The first `confirmed`, `shipped` and `cancelled` entries of each order's history.
    async fn histories(&self, ids: &[Uuid]) -> anyhow::Result<HashMap<Uuid, Recorded>> {
        let rows: Vec<History> = sqlx::query_as(
            "SELECT order_id,
                    min(at) FILTER (WHERE status = 'confirmed') AS confirmed,
                    min(at) FILTER (WHERE status = 'shipped') AS shipped,
                    min(at) FILTER (WHERE status = 'cancelled') AS cancelled
             FROM order_history WHERE order_id = ANY($1) GROUP BY order_id",
        )
        .bind(ids)
        .fetch_all(&self.pool)
        .await
        .context("Failed to read the histories of the phase's orders")?;
        Ok(rows
            .into_iter()
            .map(|row| (row.order_id, row.recorded))
            .collect())
    }
}
