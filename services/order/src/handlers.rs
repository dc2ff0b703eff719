//! The bus handlers: what billing and logistics report about an order, turned into an
//! [`Outcome`] and applied through [`transition::answer`] in the message's transaction, with the
//! announcement staged in the same transaction.

use std::time::Duration;

use contracts::billing::{PaymentCharged, PaymentDeclined};
use contracts::logistics::{OrderShipped, OutOfStock, StockReserved};
use event_bus::{Handler, HandlerContext, HandlerResult};
use uuid::Uuid;

use crate::domain::{Outcome, Payer};
use crate::store::Cause;
use crate::transition;

/// Handles every event the order service binds; everything else is in the database.
#[derive(Debug, Clone, Copy)]
pub struct OrderOutcomes {
    /// How long a foreign order (an answer about an order the service never stored, see
    /// `domain::foreign`) may wait for billing's answer before it is reported as stalled: the
    /// deadline of a pending order.
    pub foreign_deadline: Duration,
}

impl Handler<PaymentCharged> for OrderOutcomes {
    async fn handle(&self, ctx: &mut HandlerContext<'_>, event: PaymentCharged) -> HandlerResult {
        let payer = Payer {
            customer_id: event.customer_id,
            amount_cents: event.amount_cents,
        };
        self.apply(ctx, event.order_id, Outcome::Charged { payer })
            .await
    }
}

impl Handler<PaymentDeclined> for OrderOutcomes {
    async fn handle(&self, ctx: &mut HandlerContext<'_>, event: PaymentDeclined) -> HandlerResult {
        let detail = format!(
            "payment declined ({}): the order needs {} cents, {} are available",
            event.reason, event.amount_cents, event.available_cents
        );
        let payer = Payer {
            customer_id: event.customer_id,
            amount_cents: event.amount_cents,
        };
        self.apply(ctx, event.order_id, Outcome::Declined { payer, detail })
            .await
    }
}

impl Handler<StockReserved> for OrderOutcomes {
    async fn handle(&self, ctx: &mut HandlerContext<'_>, event: StockReserved) -> HandlerResult {
        self.apply(ctx, event.order_id, Outcome::Reserved).await
    }
}

impl Handler<OutOfStock> for OrderOutcomes {
    async fn handle(&self, ctx: &mut HandlerContext<'_>, event: OutOfStock) -> HandlerResult {
        let detail = format!("out of stock: {}", event.describe());
        self.apply(ctx, event.order_id, Outcome::OutOfStock { detail })
            .await
    }
}

impl Handler<OrderShipped> for OrderOutcomes {
    async fn handle(&self, ctx: &mut HandlerContext<'_>, event: OrderShipped) -> HandlerResult {
        let outcome = Outcome::Shipped {
            tracking_number: event.tracking_number,
        };
        self.apply(ctx, event.order_id, outcome).await
    }
}

impl OrderOutcomes {
    /// Applies what the message says about the order, in its transaction.
    async fn apply(
        &self,
        ctx: &mut HandlerContext<'_>,
        order_id: Uuid,
        outcome: Outcome,
    ) -> HandlerResult {
        let cause = Cause::message(ctx.metadata());
        transition::answer(ctx, order_id, outcome, &cause, self.foreign_deadline).await?;
        Ok(())
    }
}
