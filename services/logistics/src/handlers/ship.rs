//! `order.*.confirmed` → `logistics.v1.shipped`.

use chrono::Utc;
use contracts::logistics::OrderShipped;
use contracts::order::OrderConfirmed;
use event_bus::{EventTransaction, Handler, HandlerContext, HandlerResult};

use crate::domain::{ReservationStatus, tracking_number};
use crate::store;

/// Ships a confirmed order: its reserved units leave the warehouse under a tracking number.
///
/// Idempotent: a shipped reservation is not shipped again. A confirmation without a `reserved`
/// reservation contradicts the flow (an order is confirmed only once its stock was reserved), so
/// it fails: retried, then dead-lettered with the reason, where an operator sees it.
pub struct ShipOrder;

impl Handler<OrderConfirmed> for ShipOrder {
    async fn handle(
        &self,
        ctx: &mut HandlerContext<'_>,
        confirmed: OrderConfirmed,
    ) -> HandlerResult {
        let order_id = confirmed.order_id;
        store::lock_order(ctx.db(), order_id).await?;
        let Some(reservation) = store::reservation(ctx.db(), order_id).await? else {
            return Err(anyhow::anyhow!(
                "order {order_id} was confirmed but has no reservation to ship"
            )
            .into());
        };
        match reservation.status {
            ReservationStatus::Reserved => {
                let tracking_number = tracking_number();
                let shipped_at = Utc::now();
                store::ship(
                    ctx.db(),
                    order_id,
                    &reservation.lines.0,
                    &tracking_number,
                    shipped_at,
                )
                .await?;
                tracing::info!(%order_id, %tracking_number, "shipped");
                ctx.publish(&OrderShipped {
                    order_id,
                    tracking_number,
                    shipped_at,
                })?;
                Ok(())
            }
            ReservationStatus::Shipped => {
                tracing::info!(%order_id, "already shipped; nothing to do");
                Ok(())
            }
            ReservationStatus::Released => Err(anyhow::anyhow!(
                "order {order_id} was confirmed but its reservation was released (cancelled)"
            )
            .into()),
        }
    }
}
