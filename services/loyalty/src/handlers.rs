//! The bus handler: [`AwardPoints`], for `order.*.confirmed`.

use contracts::order::OrderConfirmed;
use event_bus::{Handler, HandlerContext, HandlerResult};

use crate::{domain, store};

/// Awards a confirmed order's points, in the transaction that records the message in the inbox.
///
/// Idempotent: a redelivery is skipped by the inbox, and a second copy with another message id
/// finds the order's row (one per order) and counts nothing.
pub struct AwardPoints;

impl Handler<OrderConfirmed> for AwardPoints {
    async fn handle(&self, ctx: &mut HandlerContext<'_>, order: OrderConfirmed) -> HandlerResult {
        let points = domain::points_for(order.total_cents);
        store::award(ctx.db(), order.order_id, &order.customer_id, points).await?;
        Ok(())
    }
}
