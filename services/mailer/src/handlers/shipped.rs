//! `logistics.*.shipped` → the shipment notice, then `mailer.v1.sent`.

use anyhow::anyhow;
use contracts::logistics::OrderShipped;
use event_bus::{Handler, HandlerContext, HandlerResult};

use super::Notify;
use crate::domain::Email;
use crate::store;

/// A shipment carries no address. If it is handled before the confirmation that gave one (both
/// are in flight at once), it fails, and the broker-held retry delays give the confirmation
/// time to be handled first.
impl Handler<OrderShipped> for Notify {
    async fn handle(&self, ctx: &mut HandlerContext<'_>, event: OrderShipped) -> HandlerResult {
        store::lock_order(ctx.db(), event.order_id).await?;
        let to = store::recipient_of(ctx.db(), event.order_id)
            .await?
            .ok_or_else(|| anyhow!("recipient of order {} not known yet", event.order_id))?;
        self.deliver(ctx, Email::shipped(&event, to)).await
    }
}
