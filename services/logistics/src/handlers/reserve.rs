//! `order.*.submit` → `logistics.v1.reserved` (and maybe `replenishment_requested`) or
//! `logistics.v1.out_of_stock`.

use anyhow::Context;
use contracts::logistics::{OutOfStock, ReplenishmentRequested, ReservedLine, StockReserved};
use contracts::order::OrderSubmitted;
use event_bus::{EventTransaction, Handler, HandlerContext, HandlerResult};

use crate::domain::{StockPolicy, merge_lines, shortages};
use crate::store;

/// Reserves every line of a submitted order, or none of them.
///
/// Idempotent: an order is reserved at most once (a second submit, whatever its message id,
/// finds the reservation), and never after its cancellation was seen (the tombstone).
pub struct ReserveStock {
    pub policy: StockPolicy,
}

impl Handler<OrderSubmitted> for ReserveStock {
    async fn handle(&self, ctx: &mut HandlerContext<'_>, order: OrderSubmitted) -> HandlerResult {
        let order_id = order.order_id;
        store::lock_order(ctx.db(), order_id).await?;
        if store::is_cancelled(ctx.db(), order_id).await? {
            tracing::info!(%order_id, "order was cancelled before its submit; reserving nothing");
            return Ok(());
        }
        if store::reservation(ctx.db(), order_id).await?.is_some() {
            tracing::info!(%order_id, "order already has a reservation; nothing to do");
            return Ok(());
        }

        let demands = merge_lines(&order.lines);
        let mut levels = Vec::with_capacity(demands.len());
        for demand in &demands {
            levels.push(store::lock_stock(ctx.db(), &demand.sku, self.policy.default_stock).await?);
        }
        let short = shortages(&demands, &levels);
        if !short.is_empty() {
            let event = OutOfStock { order_id, short };
            tracing::info!(%order_id, short = %event.describe(), "out of stock; reserving nothing");
            ctx.publish(&event)?;
            return Ok(());
        }

        let mut lines = Vec::with_capacity(demands.len());
        for demand in &demands {
            // Fits: it is at most what is available, which is at most an INTEGER.
            let quantity = u32::try_from(demand.quantity).context("a reserved quantity")?;
            let units = i32::try_from(quantity).context("a reserved quantity")?;
            store::reserve(ctx.db(), &demand.sku, units).await?;
            lines.push(ReservedLine {
                sku: demand.sku.clone(),
                quantity,
            });
        }
        store::insert_reservation(ctx.db(), order_id, &lines).await?;
        tracing::info!(%order_id, lines = lines.len(), "stock reserved");
        ctx.publish(&StockReserved {
            order_id,
            lines: lines.clone(),
        })?;

        for (line, level) in lines.iter().zip(&levels) {
            let available = level.available() - i64::from(line.quantity);
            if !self.policy.needs_replenishment(available)
                || store::replenishment_pending(ctx.db(), &line.sku).await?
            {
                continue;
            }
            let requested = store::request_replenishment(
                ctx.db(),
                &line.sku,
                self.policy.replenish_quantity,
                self.policy.replenish_delay_ms,
            )
            .await?;
            if requested {
                tracing::info!(sku = %line.sku, available, "replenishment requested");
                ctx.publish(&ReplenishmentRequested {
                    sku: line.sku.clone(),
                    on_hand: u32::try_from(available.max(0)).unwrap_or(u32::MAX),
                    threshold: self.policy.replenish_threshold,
                    // Positive: checked when the policy was built.
                    quantity: self.policy.replenish_quantity.unsigned_abs(),
                })?;
            }
        }
        Ok(())
    }
}
