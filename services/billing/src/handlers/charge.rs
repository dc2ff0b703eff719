//! `order.*.submit` → `billing.v1.charged` or `billing.v1.declined`.

use contracts::billing::{PaymentCharged, PaymentDeclined};
use contracts::order::OrderSubmitted;
use event_bus::{EventTransaction, Handler, HandlerContext, HandlerResult};

use crate::domain::{Verdict, judge};
use crate::store;

/// Charges a submitted order if its total fits in the customer's remaining credit.
///
/// Idempotent: an order is charged at most once (a second submit, whatever its message id, finds
/// the payment), and never after its cancellation was seen (the tombstone).
pub struct ChargeOrder {
    /// Credit of a customer seen for the first time.
    pub default_credit_cents: i64,
}

impl Handler<OrderSubmitted> for ChargeOrder {
    async fn handle(&self, ctx: &mut HandlerContext<'_>, order: OrderSubmitted) -> HandlerResult {
        // Serialises this with every other money movement of the customer, the cancellation of
        // this very order included.
        let account =
            store::lock_account(ctx.db(), &order.customer_id, self.default_credit_cents).await?;
        if store::payment_exists(ctx.db(), order.order_id).await? {
            tracing::info!(order_id = %order.order_id, "order already charged; nothing to do");
            return Ok(());
        }
        if store::is_cancelled(ctx.db(), order.order_id).await? {
            tracing::info!(order_id = %order.order_id, "order was cancelled before its submit; not charging");
            return Ok(());
        }
        let available_cents = account.available_cents();
        match judge(order.total_cents, available_cents) {
            Verdict::Charge => {
                store::record_charge(
                    ctx.db(),
                    order.order_id,
                    &order.customer_id,
                    order.total_cents,
                )
                .await?;
                tracing::info!(order_id = %order.order_id, amount_cents = order.total_cents, "charged");
                ctx.publish(&PaymentCharged {
                    order_id: order.order_id,
                    customer_id: order.customer_id,
                    amount_cents: order.total_cents,
                })?;
            }
            Verdict::Decline { reason } => {
                tracing::info!(
                    order_id = %order.order_id,
                    amount_cents = order.total_cents,
                    available_cents,
                    reason,
                    "declined"
                );
                ctx.publish(&PaymentDeclined {
                    order_id: order.order_id,
                    customer_id: order.customer_id,
                    amount_cents: order.total_cents,
                    available_cents,
                    reason: reason.to_owned(),
                })?;
            }
        }
        Ok(())
    }
}
