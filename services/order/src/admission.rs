//! Load shedding at the door: `POST /orders` is refused with a 503 and `Retry-After` while too
//! many orders are pending.
//!
//! Under more orders than billing and logistics can answer, the pending orders pile up; past the
//! deadline they would all be cancelled with reason `timeout`, after the customer was told
//! "accepted". Refusing at the door instead keeps the accepted ones inside their deadline, and
//! tells the client, at once and truthfully, to come back. Pending orders are a count the whole
//! shop shares (every instance reads the same table), so the gate is right whichever instance
//! the client reaches. The count is refreshed on a timer, not per request: the check costs a
//! POST nothing, and being a tick late only moves the threshold by a few orders.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use anyhow::Context;
use service_kit::{ApiError, Next};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

/// What a refused client is told to wait, in seconds.
const RETRY_AFTER_SECS: u64 = 1;

/// The gate: the last count of pending orders against the limit.
#[derive(Debug, Clone)]
pub struct Admission {
    /// `0` turns shedding off.
    limit: i64,
    pending: Arc<AtomicI64>,
}

impl Admission {
    pub fn new(limit: u64) -> Self {
        Self {
            limit: i64::try_from(limit).unwrap_or(i64::MAX),
            pending: Arc::default(),
        }
    }

    /// `Ok` when a new order may come in; the 503 to answer otherwise.
    pub fn admit(&self) -> Result<(), ApiError> {
        let pending = self.pending.load(Ordering::Relaxed);
        if self.limit == 0 || pending < self.limit {
            return Ok(());
        }
        metrics::counter!("orders_refused_total", "reason" => "overloaded").increment(1);
        Err(ApiError::overloaded(
            format!(
                "{pending} orders are waiting for billing and logistics (the limit is {}); \
                 try again shortly",
                self.limit
            ),
            RETRY_AFTER_SECS,
        ))
    }

    /// Counts the pending orders every `every` until `shutdown`.
    pub async fn run(self, pool: PgPool, every: Duration, shutdown: CancellationToken) {
        service_kit::every(every, shutdown, || async {
            match count_pending(&pool).await {
                Ok(pending) => {
                    self.pending.store(pending, Ordering::Relaxed);
                    metrics::gauge!("orders_pending").set(pending as f64);
                }
                // The last count stands until the next tick.
                Err(error) => tracing::warn!(error = ?error, "counting pending orders failed"),
            }
            Next::Wait
        })
        .await;
    }
}

/// Served by the partial index of pending orders (`orders_pending_by_deadline`).
async fn count_pending(pool: &PgPool) -> anyhow::Result<i64> {
    sqlx::query_scalar("SELECT count(*) FROM orders WHERE status = 'pending'")
        .fetch_one(pool)
        .await
        .context("Failed to count the pending orders")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_pending(limit: u64, pending: i64) -> Admission {
        let admission = Admission::new(limit);
        admission.pending.store(pending, Ordering::Relaxed);
        admission
    }

    #[test]
    fn orders_are_admitted_below_the_limit_and_refused_at_it() {
        assert!(with_pending(3, 2).admit().is_ok());
        let refused = with_pending(3, 3).admit().expect_err("at the limit");
        assert_eq!(refused.kind(), "overloaded");
        assert!(refused.to_string().contains("the limit is 3"));
    }

    #[test]
    fn a_limit_of_zero_admits_everything() {
        assert!(with_pending(0, 1_000_000).admit().is_ok());
    }
}
