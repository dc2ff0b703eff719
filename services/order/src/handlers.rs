//! The bus handlers: what billing and logistics report about an order, turned into an
//! [`Outcome`] and applied through [`transition::run`] in the message's transaction, with the
//! announcement staged in the same transaction.

use contracts::billing::{PaymentCharged, PaymentDeclined};
use contracts::logistics::{OrderShipped, OutOfStock, StockReserved};
use event_bus::{Handler, HandlerContext, HandlerResult};
use uuid::Uuid;

use crate::domain::Outcome;
use crate::store::Cause;
use crate::transition;

/// Handles every event the order service binds; it holds nothing, everything is in the database.
#[derive(Debug, Clone, Copy, Default)]
pub struct OrderOutcomes;

impl Handler<PaymentCharged> for OrderOutcomes {
    async fn handle(&self, ctx: &mut HandlerContext<'_>, event: PaymentCharged) -> HandlerResult {
        apply(ctx, event.order_id, Outcome::Charged).await
    }
}

impl Handler<PaymentDeclined> for OrderOutcomes {
    async fn handle(&self, ctx: &mut HandlerContext<'_>, event: PaymentDeclined) -> HandlerResult {
        let detail = format!(
            "payment declined ({}): the order needs {} cents, {} are available",
            event.reason, event.amount_cents, event.available_cents
        );
        apply(ctx, event.order_id, Outcome::Declined { detail }).await
    }
}

impl Handler<StockReserved> for OrderOutcomes {
    async fn handle(&self, ctx: &mut HandlerContext<'_>, event: StockReserved) -> HandlerResult {
        apply(ctx, event.order_id, Outcome::Reserved).await
    }
}

impl Handler<OutOfStock> for OrderOutcomes {
    async fn handle(&self, ctx: &mut HandlerContext<'_>, event: OutOfStock) -> HandlerResult {
        let detail = format!("out of stock: {}", event.describe());
        apply(ctx, event.order_id, Outcome::OutOfStock { detail }).await
    }
}

impl Handler<OrderShipped> for OrderOutcomes {
    async fn handle(&self, ctx: &mut HandlerContext<'_>, event: OrderShipped) -> HandlerResult {
        let outcome = Outcome::Shipped {
            tracking_number: event.tracking_number,
        };
        apply(ctx, event.order_id, outcome).await
    }
}

/// Applies what the message says about the order, in its transaction.
async fn apply(ctx: &mut HandlerContext<'_>, order_id: Uuid, outcome: Outcome) -> HandlerResult {
    let cause = Cause::message(ctx.metadata());
    transition::run(ctx, order_id, outcome, &cause).await?;
    Ok(())
}
