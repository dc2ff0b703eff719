//! `order.*.cancelled` → the cancellation email, then `mailer.v1.sent`.

use contracts::order::OrderCancelled;
use event_bus::{Handler, HandlerContext, HandlerResult};

use super::Notify;
use crate::domain::Email;
use crate::store;

/// Remembers the order's address and sends the cancellation, with its reason.
impl Handler<OrderCancelled> for Notify {
    async fn handle(&self, ctx: &mut HandlerContext<'_>, event: OrderCancelled) -> HandlerResult {
        store::lock_order(ctx.db(), event.order_id).await?;
        store::remember_recipient(ctx.db(), event.order_id, &event.email, &event.customer_id)
            .await?;
        self.deliver(ctx, Email::cancelled(&event)).await
    }
}
