//! One outcome applied to one order, inside the caller's transaction: lock, decide, write, and
//! stage the event that announces the change. The bus handlers go through [`answer`], the sweeper
//! through [`run`], each with its own [`EventTransaction`].

use std::time::Duration;

use anyhow::Context;
use event_bus::EventTransaction;
use uuid::Uuid;

use crate::announcement::Announcement;
use crate::domain::{Decision, Origin, Outcome};
use crate::store::{self, Cause, LockedOrder};

/// Applies `outcome` to order `order_id` for `cause`, and stages its announcement in `tx`. An
/// unknown order is an error: the sweeper only names orders it has just claimed.
pub async fn run(
    tx: &mut impl EventTransaction,
    order_id: Uuid,
    outcome: Outcome,
    cause: &Cause,
) -> anyhow::Result<()> {
    let order = store::lock(tx.db(), order_id)
        .await?
        .with_context(|| unknown(order_id))?;
    apply(tx, order, outcome, cause).await
}

/// Applies billing's or logistics' answer like [`run`]; when it names an order the service never
/// stored, records it first as a foreign order (`domain::foreign`: every order the service
/// creates commits before its submission is published, so such an answer is about another
/// producer's submission), waiting up to `foreign_deadline` for billing's answer before it is
/// reported as stalled. A shipment of an unknown order is still an error, for the dead letters:
/// only the service confirms orders, so nothing should ship one it does not know.
pub async fn answer(
    tx: &mut impl EventTransaction,
    order_id: Uuid,
    outcome: Outcome,
    cause: &Cause,
    foreign_deadline: Duration,
) -> anyhow::Result<()> {
    let order = match store::lock(tx.db(), order_id).await? {
        Some(order) => order,
        None if outcome.answers_a_submission() => {
            let payer = outcome.payer();
            if store::record_foreign(tx.db(), order_id, payer, foreign_deadline, cause).await? {
                tracing::warn!(
                    %order_id,
                    event = %cause.event,
                    "an answer names an order the service never stored: recorded as foreign, \
                     to be refused once billing has answered"
                );
            }
            store::lock(tx.db(), order_id)
                .await?
                .with_context(|| format!("Foreign order {order_id} vanished once recorded"))?
        }
        None => anyhow::bail!(unknown(order_id)),
    };
    apply(tx, order, outcome, cause).await
}

fn unknown(order_id: Uuid) -> String {
    format!("order {order_id} is unknown to the order service")
}

/// Decides about the locked `order`, writes the decision and stages its announcement.
async fn apply(
    tx: &mut impl EventTransaction,
    mut order: LockedOrder,
    outcome: Outcome,
    cause: &Cause,
) -> anyhow::Result<()> {
    let order_id = order.id;
    // A foreign order learns its customer from billing's answer, which its refusal must name.
    if order.progress.origin == Origin::Foreign
        && order.customer_id.is_empty()
        && let Some(payer) = outcome.payer()
    {
        store::name_payer(tx.db(), &mut order, payer).await?;
    }
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
        Decision::Refuse { .. } => {
            tracing::warn!(%order_id, from = %before, event = %cause.event, "foreign order refused: cancelled");
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
