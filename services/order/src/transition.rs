//! One outcome applied to one order, inside the caller's transaction: lock, decide, write, and
//! stage the event that announces the change. The bus handlers and the sweeper both go through
//! [`run`], each with its own [`EventTransaction`].

use anyhow::Context;
use event_bus::EventTransaction;
use uuid::Uuid;

use crate::announcement::Announcement;
use crate::domain::{Decision, Outcome};
use crate::store::{self, Cause};

/// Applies `outcome` to order `order_id` for `cause`, and stages its announcement in `tx`. An
/// unknown order is an error: every order row commits before its submission is published, so an
/// answer about an order this service never stored comes from somewhere else and belongs in the
/// dead letters, not in a silent ack.
pub async fn run(
    tx: &mut impl EventTransaction,
    order_id: Uuid,
    outcome: Outcome,
    cause: &Cause,
) -> anyhow::Result<()> {
    let order = store::lock(tx.db(), order_id)
        .await?
        .with_context(|| format!("order {order_id} is unknown to the order service"))?;
    let before = order.progress.status;
    let decision = order.progress.decide(outcome);
    store::apply(tx.db(), &order, &decision, cause).await?;
    match &decision {
        Decision::Nothing {
            why,
            unexpected: true,
        } => {
            tracing::warn!(%order_id, status = %before, event = %cause.event, why, "ignored");
        }
        Decision::Nothing { why, .. } => {
            tracing::info!(%order_id, status = %before, event = %cause.event, why, "ignored");
        }
        Decision::Record(step) => {
            tracing::info!(%order_id, status = %before, event = %cause.event, ?step, "recorded");
        }
        Decision::Confirm(_) | Decision::Cancel { .. } | Decision::Ship { .. } => {
            let after = decision.new_status().unwrap_or(before);
            tracing::info!(%order_id, from = %before, to = %after, event = %cause.event, "status changed");
        }
    }
    if let Some(announcement) = Announcement::of(&order, &decision) {
        announcement
            .publish(tx)
            .with_context(|| format!("Failed to stage the announcement of order {order_id}"))?;
    }
    Ok(())
}
