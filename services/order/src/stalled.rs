//! Reports the orders that are stuck, so that none is stuck silently.
//!
//! Every status that is not final has a deadline: `deadline_secs` for pending (the sweeper
//! cancels the order then), `confirmed_deadline_secs` for confirmed. An order past the deadline
//! of its status is *stalled*: a confirmed one whose `order.v1.confirmed` was dead-lettered at
//! logistics or whose `logistics.v1.shipped` was dead-lettered here, charged and reserved and
//! going nowhere; a pending one the sweeper failed to cancel; a foreign one still waiting for
//! billing's answer. Stalled orders are not cancelled (a confirmed order's money and stock may
//! well be right), they are reported:
//!
//! - the gauge `orders_stalled{status}`, refreshed every `stalled_interval_ms` by [`run`], and a
//!   warning in the log whenever the count of a status rises;
//! - `GET /orders?stalled=true`, which lists them (`routes`);
//! - the tracker's page, which reads that list.
//!
//! The remedy for a lost message is to replay its dead letter (`shopctl dead replay`): the
//! order then moves on as it would have, and every handler it reaches is idempotent.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use service_kit::Next;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::store::{self, StalledCounts};

/// The gauge's name; its one label is `status`.
pub const GAUGE: &str = "orders_stalled";

/// Counts the stalled orders every `every` until `shutdown`, into the gauge.
pub async fn run(
    pool: PgPool,
    confirmed_deadline: Duration,
    every: Duration,
    shutdown: CancellationToken,
) {
    // The last counts, to warn when they rise rather than at every tick.
    let last = [AtomicI64::new(0), AtomicI64::new(0)];
    service_kit::every(every, shutdown, || async {
        match store::count_stalled(&pool, confirmed_deadline).await {
            Ok(counts) => report(counts, &last),
            // The gauge keeps the last count until the next tick.
            Err(error) => tracing::warn!(error = ?error, "counting stalled orders failed"),
        }
        Next::Wait
    })
    .await;
}

/// Sets the gauge, and warns about each status whose count rose since `last`.
fn report(counts: StalledCounts, last: &[AtomicI64; 2]) {
    for ((status, count), last) in counts.by_status().into_iter().zip(last) {
        metrics::gauge!(GAUGE, "status" => status.as_str()).set(count as f64);
        let before = last.swap(count, Ordering::Relaxed);
        if count > before {
            tracing::warn!(
                %status,
                stalled = count,
                "orders are stalled past the deadline of their status; GET /orders?stalled=true \
                 lists them, and replaying a lost message's dead letter (shopctl dead replay) \
                 moves them on"
            );
        } else if count == 0 && before > 0 {
            tracing::info!(%status, "no order is stalled any more");
        }
    }
}
