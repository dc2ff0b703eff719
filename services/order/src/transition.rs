//! One outcome applied to one order, inside the caller's transaction: lock, decide, write, and
//! say which event announces the change. The bus handlers and the sweeper both go through
//! [`run`]; they differ only in how they stage what it returns.

use anyhow::Context;
use contracts::order::{OrderCancelled, OrderConfirmed};
use event_bus::HandlerContext;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::domain::{Decision, Outcome};
use crate::store::{self, Cause, LockedOrder};

/// The event that tells the other services about a status change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Announcement {
    Confirmed(OrderConfirmed),
    Cancelled(OrderCancelled),
}

impl Announcement {
    fn of(order: &LockedOrder, decision: &Decision) -> Option<Self> {
        match decision {
            Decision::Confirm(_) => Some(Self::Confirmed(OrderConfirmed {
                order_id: order.id,
                customer_id: order.customer_id.clone(),
                email: order.email.clone(),
                total_cents: order.total_cents,
                currency: order.currency.clone(),
            })),
            Decision::Cancel { reason, detail } => Some(Self::Cancelled(OrderCancelled {
                order_id: order.id,
                customer_id: order.customer_id.clone(),
                email: order.email.clone(),
                reason: *reason,
                detail: Some(detail.clone()),
            })),
            // Shipping is announced by logistics itself; the rest changes no status.
            Decision::Nothing { .. } | Decision::Record(_) | Decision::Ship { .. } => None,
        }
    }

    /// Stages the event as caused by the message a handler is handling.
    pub async fn publish(&self, ctx: &mut HandlerContext<'_>) -> event_bus::Result<()> {
        match self {
            Self::Confirmed(event) => ctx.publish(event).await,
            Self::Cancelled(event) => ctx.publish(event).await,
        }
    }

    /// Stages the event with no causing message, in the flow of the order.
    pub async fn stage(&self, connection: &mut PgConnection) -> event_bus::Result<()> {
        let staged = match self {
            Self::Confirmed(event) => {
                event_bus::outbox::stage_event(connection, event, &event.order_id.to_string()).await
            }
            Self::Cancelled(event) => {
                event_bus::outbox::stage_event(connection, event, &event.order_id.to_string()).await
            }
        };
        staged.map(drop)
    }
}

/// Applies `outcome` to order `order_id` for `cause`. An unknown order is an error: every order
/// row commits before its submission is published, so an answer about an order this service
/// never stored comes from somewhere else and belongs in the dead letters, not in a silent ack.
pub async fn run(
    connection: &mut PgConnection,
    order_id: Uuid,
    outcome: Outcome,
    cause: &Cause,
) -> anyhow::Result<Option<Announcement>> {
    let order = store::lock(connection, order_id)
        .await?
        .with_context(|| format!("order {order_id} is unknown to the order service"))?;
    let before = order.progress.status;
    let decision = order.progress.decide(outcome);
    store::apply(connection, &order, &decision, cause).await?;
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
    Ok(Announcement::of(&order, &decision))
}
