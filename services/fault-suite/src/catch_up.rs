//! Waiting, with a bound, until the shop has caught up or is quiet.
//!
//! Polling is the only way to see another process's progress; each wait has a deadline and
//! reports how long it took, never asserts on it.

use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{DateTime, Utc};

use crate::{service::Service, shop::Shop};

/// How often the shop's state is looked at.
const POLL: Duration = Duration::from_millis(250);

/// The database clock of the order service: what `created_at` is compared with.
pub async fn database_now(shop: &Shop) -> anyhow::Result<DateTime<Utc>> {
    sqlx::query_scalar("SELECT now()")
        .fetch_one(shop.pool(Service::Order))
        .await
        .context("Failed to read the database clock")
}

/// Waits until every order created up to `since` is final: the backlog of a fault is worked
/// off. `None` if `bound` ran out first.
pub async fn caught_up(shop: &Shop, since: DateTime<Utc>, bound: Duration) -> Option<Duration> {
    let started = Instant::now();
    while started.elapsed() < bound {
        let open: Result<i64, _> = sqlx::query_scalar(
            "SELECT count(*) FROM orders
             WHERE created_at <= $1 AND status NOT IN ('shipped', 'cancelled')",
        )
        .bind(since)
        .fetch_one(shop.pool(Service::Order))
        .await;
        if open.is_ok_and(|open| open == 0) {
            return Some(started.elapsed());
        }
        tokio::time::sleep(POLL).await;
    }
    None
}

/// What is still moving in the shop.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Motion {
    /// Orders neither shipped nor cancelled.
    pub open_orders: i64,
    /// Outbox rows not yet published, over the four services.
    pub unpublished: i64,
    /// Replenishments the supplier has yet to deliver.
    pub deliveries: i64,
    /// Messages in the services' queues and retry queues (ready or unacknowledged).
    pub queued: u64,
}

impl Motion {
    pub fn is_still(&self) -> bool {
        *self == Self::default()
    }
}

/// Reads what is still moving.
pub async fn motion(shop: &Shop) -> anyhow::Result<Motion> {
    let mut motion = Motion {
        open_orders: sqlx::query_scalar(
            "SELECT count(*) FROM orders WHERE status NOT IN ('shipped', 'cancelled')",
        )
        .fetch_one(shop.pool(Service::Order))
        .await
        .context("Failed to count open orders")?,
        deliveries: sqlx::query_scalar("SELECT count(*) FROM replenishments WHERE done_at IS NULL")
            .fetch_one(shop.pool(Service::Logistics))
            .await
            .context("Failed to count pending deliveries")?,
        ..Motion::default()
    };
    for service in Service::ALL {
        let unpublished: i64 =
            sqlx::query_scalar("SELECT count(*) FROM event_bus_outbox WHERE published_at IS NULL")
                .fetch_one(shop.pool(service))
                .await
                .with_context(|| format!("Failed to read the outbox of {service}"))?;
        motion.unpublished += unpublished;
    }
    motion.queued = shop
        .broker
        .management
        .queues(&shop.vhost)
        .await?
        .iter()
        .filter(|queue| {
            let owner = queue.name.split('.').next().unwrap_or_default();
            Service::parse(owner).is_some() && !queue.name.ends_with(".dead")
        })
        .map(|queue| queue.messages)
        .sum();
    Ok(motion)
}

/// Waits until nothing moves, seen twice in a row a second apart (the broker's queue figures
/// are refreshed every half second). Returns how long it took, or what still moved when `bound`
/// ran out.
pub async fn quiet(shop: &Shop, bound: Duration) -> Result<Duration, Motion> {
    let started = Instant::now();
    let mut still_since: Option<Instant> = None;
    let mut last = Motion::default();
    while started.elapsed() < bound {
        match motion(shop).await {
            Ok(now) if now.is_still() => {
                let since = *still_since.get_or_insert_with(Instant::now);
                if since.elapsed() >= Duration::from_secs(1) {
                    return Ok(started.elapsed());
                }
            }
            Ok(now) => {
                still_since = None;
                last = now;
            }
            // The database or the broker is down: the fault is still being healed.
            Err(_) => still_since = None,
        }
        tokio::time::sleep(POLL).await;
    }
    Err(last)
}
