//! `order.*.confirmed` → the confirmation email, then `mailer.v1.sent`.

use contracts::order::OrderConfirmed;
use event_bus::{Handler, HandlerContext, HandlerResult};

use super::Notify;
use crate::domain::Email;
use crate::store;

/// Remembers the order's address (for the shipment notice to come) and sends the confirmation.
impl Handler<OrderConfirmed> for Notify {
    async fn handle(&self, ctx: &mut HandlerContext<'_>, event: OrderConfirmed) -> HandlerResult {
        store::lock_order(ctx.db(), event.order_id).await?;
        store::remember_recipient(ctx.db(), event.order_id, &event.email, &event.customer_id)
            .await?;
        self.deliver(ctx, Email::confirmed(&event)).await
    }
}
