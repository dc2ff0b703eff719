//! `order.*.cancelled` → `logistics.v1.released` (when stock was reserved).

use contracts::logistics::StockReleased;
use contracts::order::OrderCancelled;
use event_bus::{EventTransaction, Handler, HandlerContext, HandlerResult};

use crate::domain::ReservationStatus;
use crate::store;

/// Gives a cancelled order's reserved stock back, and remembers the cancellation so that a
/// submit arriving after it (the broker does not order two exchanges' messages) reserves
/// nothing. A shipped order is not released: its units have left the warehouse.
///
/// Idempotent: only a `reserved` reservation is released, once.
pub struct ReleaseStock;

impl Handler<OrderCancelled> for ReleaseStock {
    async fn handle(
        &self,
        ctx: &mut HandlerContext<'_>,
        cancelled: OrderCancelled,
    ) -> HandlerResult {
        let order_id = cancelled.order_id;
        store::lock_order(ctx.db(), order_id).await?;
        store::record_cancellation(ctx.db(), order_id).await?;
        let Some(reservation) = store::reservation(ctx.db(), order_id).await? else {
            tracing::info!(%order_id, "nothing reserved yet; cancellation remembered");
            return Ok(());
        };
        match reservation.status {
            ReservationStatus::Reserved => {
                let lines = reservation.lines.0;
                store::release(ctx.db(), order_id, &lines).await?;
                tracing::info!(%order_id, reason = %cancelled.reason, "stock released");
                ctx.publish(&StockReleased { order_id, lines })?;
            }
            ReservationStatus::Released => {
                tracing::info!(%order_id, "stock already released; nothing to do");
            }
            ReservationStatus::Shipped => {
                tracing::warn!(%order_id, "a shipped order was cancelled; its stock is not released");
            }
        }
        Ok(())
    }
}
