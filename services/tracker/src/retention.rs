//! What the tracker stores is kept for a retention (`service.retention_secs`, 30 days), then
//! deleted.
//!
//! A flow goes whole: once its last activity (`flows.last_at`, the time of its latest event) is
//! older than the retention, the flow and all its events are deleted, so a timeline is never
//! left with a hole. An event of no flow (its correlation id is not a UUID) goes once its own
//! time is older. Deleting is idempotent: a round finds what is past the retention now, and a
//! round after it finds the rest.
//!
//! Each round runs on the kit's ticker ([`service_kit::every`]) every [`PERIOD`], in batches of
//! at most [`BATCH`] flows (and as many flowless events), one short transaction each, until a
//! batch comes back short; a flow a recorder is updating at that moment is skipped (`SKIP
//! LOCKED`), and left for the next round.
//!
//! Forgetting has one consequence: the tracker stores a message once by remembering its id in
//! `events`, so a copy arriving after its event was deleted (a redelivery, a replay of an old
//! dead letter) is recorded again, as the first event of a new flow summary. Likewise an event
//! older than the retention when it arrives is recorded, then deleted by the next round.

use std::time::Duration;

use service_kit::Next;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::store::{self, Pruned};

/// Flows (and flowless events) deleted per transaction: bounds how many rows one round locks.
pub const BATCH: i64 = 500;

/// How often [`run`] looks for flows past the retention: one may outlive it by this much, which
/// a retention of days makes negligible, and a round finding nothing costs a read of an index.
pub const PERIOD: Duration = Duration::from_secs(60);

/// Deletes what is older than `retention` every [`PERIOD`] until `shutdown`.
pub async fn run(pool: PgPool, retention: Duration, shutdown: CancellationToken) {
    service_kit::every(PERIOD, shutdown, || async {
        match prune(&pool, retention).await {
            Ok(pruned) if pruned.full(BATCH) => Next::Again,
            Ok(_) => Next::Wait,
            Err(error) => {
                tracing::warn!(error = ?error, "deleting flows past their retention failed; next tick retries");
                Next::Wait
            }
        }
    })
    .await;
}

/// One round: deletes one batch of flows whose last activity is older than `retention`, with
/// their events, and one batch of flowless events older than it; returns how many of each.
pub async fn prune(pool: &PgPool, retention: Duration) -> anyhow::Result<Pruned> {
    let pruned = store::prune(pool, retention, BATCH).await?;
    if pruned.flows > 0 || pruned.events > 0 {
        tracing::debug!(
            flows = pruned.flows,
            events = pruned.events,
            "flows and events past their retention deleted"
        );
    }
    Ok(pruned)
}
