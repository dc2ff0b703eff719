//! `order.*.cancelled` → `billing.v1.refunded` (when there was a charge).

use contracts::billing::PaymentRefunded;
use contracts::order::OrderCancelled;
use event_bus::{EventTransaction, Handler, HandlerContext, HandlerResult};

use crate::store;

/// Gives back the charge of a cancelled order, and remembers the cancellation so that a submit
/// arriving after it (the broker does not order two exchanges' messages) charges nothing.
///
/// Idempotent: a payment is refunded once (only a `charged` one is), and the tombstone is
/// inserted once.
pub struct RefundOrder {
    /// Credit of a customer seen for the first time (a cancellation may be the first thing
    /// billing hears of a customer).
    pub default_credit_cents: i64,
}

impl Handler<OrderCancelled> for RefundOrder {
    async fn handle(
        &self,
        ctx: &mut HandlerContext<'_>,
        cancelled: OrderCancelled,
    ) -> HandlerResult {
        // The same lock as the charge: the two can never interleave.
        store::lock_account(ctx.db(), &cancelled.customer_id, self.default_credit_cents).await?;
        store::record_cancellation(ctx.db(), cancelled.order_id).await?;
        let Some(refund) = store::refund(ctx.db(), cancelled.order_id).await? else {
            tracing::info!(order_id = %cancelled.order_id, "no charge to refund; cancellation remembered");
            return Ok(());
        };
        tracing::info!(
            order_id = %cancelled.order_id,
            amount_cents = refund.amount_cents,
            reason = %cancelled.reason,
            "refunded"
        );
        ctx.publish(&PaymentRefunded {
            order_id: cancelled.order_id,
            customer_id: refund.customer_id,
            amount_cents: refund.amount_cents,
        })?;
        Ok(())
    }
}
