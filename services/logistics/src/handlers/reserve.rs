//! `order.*.submit` → `logistics.v1.reserved` (and maybe `replenishment_requested`) or
//! `logistics.v1.out_of_stock`.

use anyhow::Context;
use contracts::logistics::{OutOfStock, ReplenishmentRequested, ReservedLine, StockReserved};
use contracts::order::OrderSubmitted;
use event_bus::{Handler, HandlerContext, HandlerResult};

use crate::domain::merge_lines;
use crate::policy::{self, StockPolicy};
use crate::warehouse;

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
        warehouse::lock_order(ctx.db(), order_id).await?;
        if warehouse::is_cancelled(ctx.db(), order_id).await? {
            tracing::info!(%order_id, "order was cancelled before its submit; reserving nothing");
            return Ok(());
        }
        if warehouse::reservation(ctx.db(), order_id).await?.is_some() {
            tracing::info!(%order_id, "order already has a reservation; nothing to do");
            return Ok(());
        }

        let demands = merge_lines(&order.lines);
        let mut levels = Vec::with_capacity(demands.len());
        for demand in &demands {
            levels.push(
                warehouse::lock_stock(ctx.db(), &demand.sku, self.policy.default_stock).await?,
            );
        }
        let short = policy::shortages(&demands, &levels);
        if !short.is_empty() {
            let event = OutOfStock { order_id, short };
            tracing::info!(%order_id, short = %event.describe(), "out of stock; reserving nothing");
            ctx.publish(&event).await?;
            return Ok(());
        }

        let mut lines = Vec::with_capacity(demands.len());
        for demand in &demands {
            // Fits: it is at most what is available, which is at most an INTEGER.
            let quantity = u32::try_from(demand.quantity).context("a reserved quantity")?;
            let units = i32::try_from(quantity).context("a reserved quantity")?;
            warehouse::reserve(ctx.db(), &demand.sku, units).await?;
            lines.push(ReservedLine {
                sku: demand.sku.clone(),
                quantity,
            });
        }
        warehouse::insert_reservation(ctx.db(), order_id, &lines).await?;
        tracing::info!(%order_id, lines = lines.len(), "stock reserved");
        ctx.publish(&StockReserved {
            order_id,
            lines: lines.clone(),
        })
        .await?;

        for (line, level) in lines.iter().zip(&levels) {
            let available = level.available() - i64::from(line.quantity);
            if !self.policy.needs_replenishment(available)
                || warehouse::replenishment_pending(ctx.db(), &line.sku).await?
            {
                continue;
            }
            let requested = warehouse::request_replenishment(
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
                })
                .await?;
            }
        }
        Ok(())
    }
}
