//! A legacy producer still publishing: while orders flow, `order.v1.submit` events (the legacy
//! shop's version, without email, currency or total) go straight to the `order` exchange, as
//! another producer the services trust on it would publish them (the suite's `guest`).
//!
//! Billing and logistics serve a version-1 submit like any other (upcast to version 2): billing
//! charges its lines at the prices it quotes, or declines it, and logistics reserves its lines,
//! or finds them out of stock. The order service never stored such an order: the first answer
//! about it reveals a foreign order, which it records and refuses once billing has answered
//! (cancelled, `timeout`), so that the charge is refunded and the reservation released by the
//! compensations that exist already. The invariants hold foreign orders to the same promises as
//! the clients' orders, with their submit in place of a client's answer (see
//! [`crate::invariants`]): each is refused, charged (if at all) its submit's total and refunded,
//! its reservation released, its one cancellation email recorded (never sent: no address).
//!
//! The legacy orders walk every path: customers billing knows from the load, customers it has
//! never seen, and the broke one (declined); plentiful SKUs (reserved, then released) and the
//! sold-out one (nothing reserved); prices of the legacy shop's own list, a cent above the
//! catalog's, so that a total checked against the catalog would show.

use std::{collections::BTreeMap, time::Instant};

use contracts::order::{EXCHANGE, OrderLine, OrderSubmitted, OrderSubmittedV1};
use event_bus::Event;
use lapin::{BasicProperties, options::ConfirmSelectOptions};
use uuid::Uuid;

use super::{
    Lab,
    aftermath::{self, Aftermath},
};
use crate::{
    amqp, catch_up,
    invariants::{ForeignOrder, ForeignOrders},
    mix,
    report::Report,
    shop::Shop,
};

/// How many legacy submits are published.
const LEGACY_ORDERS: usize = 12;

/// What the legacy shop sends as its `app_id`.
const LEGACY_PRODUCER: &str = "legacy-shop";

pub async fn run(lab: &Lab) -> anyhow::Result<Report> {
    let started = Instant::now();
    let name = "legacy-submit";
    let shop = lab.shop(name, lab.options()).await?;
    let mut traffic = shop.traffic(lab.plan(name));
    traffic.reached(lab.strike_at()).await;

    let foreign = submit_legacy_orders(&shop).await?;
    let lifted = catch_up::database_now(&shop).await?;
    let bound = aftermath::patience(&shop);
    let (posted, recovered) =
        tokio::join!(traffic.finish(), catch_up::caught_up(&shop, lifted, bound));
    let fault = format!(
        "{} legacy {} published straight to the `{EXCHANGE}` exchange at order {} (customers \
         known, unknown and broke; plentiful and sold-out SKUs; the legacy shop's prices)",
        foreign.len(),
        OrderSubmittedV1::ROUTING_KEY,
        lab.strike_at()
    );
    let aftermath = Aftermath {
        fault,
        recovered,
        foreign,
        ..Aftermath::default()
    };
    aftermath::conclude(shop, posted, aftermath, started).await
}

/// Legacy order number `index`: its customer and lines.
fn legacy_order(index: usize) -> OrderSubmittedV1 {
    let customer_id = match index % 4 {
        0 => mix::BROKE.to_owned(),
        1 => format!("legacy-{index:02}"),
        _ => format!("c-{:02}", index % 24),
    };
    let catalog: BTreeMap<&str, i64> = mix::catalog().into_iter().collect();
    let mut skus = vec![["SKU-A", "SKU-C", "SKU-E"][index % 3]];
    if index % 6 == 5 {
        skus.push(mix::SOLD_OUT);
    }
    let lines = skus
        .into_iter()
        .map(|sku| OrderLine {
            sku: sku.to_owned(),
            quantity: 1 + (index % 3) as u32,
            unit_price_cents: catalog[sku] + 1,
        })
        .collect();
    OrderSubmittedV1 {
        order_id: Uuid::new_v4(),
        customer_id,
        lines,
    }
}

/// Publishes [`LEGACY_ORDERS`] legacy submits, each confirmed by the broker; what each said.
async fn submit_legacy_orders(shop: &Shop) -> anyhow::Result<ForeignOrders> {
    let connection = amqp::connect(shop.broker.amqp_port, &shop.vhost, LEGACY_PRODUCER).await?;
    let channel = connection.create_channel().await?;
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await?;
    let mut foreign = ForeignOrders::new();
    for index in 0..LEGACY_ORDERS {
        let order = legacy_order(index);
        let message_id = Uuid::new_v4().to_string();
        let properties = BasicProperties::default()
            .with_message_id(message_id.clone().into())
            .with_correlation_id(order.order_id.to_string().into())
            .with_app_id(LEGACY_PRODUCER.into())
            .with_content_type("application/json".into())
            .with_delivery_mode(2);
        let payload = serde_json::to_vec(&order)?;
        let routing_key = OrderSubmittedV1::ROUTING_KEY;
        amqp::publish(&channel, EXCHANGE, routing_key, &payload, properties).await?;
        let mut units = BTreeMap::new();
        for line in &order.lines {
            *units.entry(line.sku.clone()).or_insert(0) += i64::from(line.quantity);
        }
        foreign.insert(
            order.order_id,
            ForeignOrder {
                message_id,
                routing_key: routing_key.to_owned(),
                units,
                total_cents: OrderSubmitted::total_of(&order.lines),
            },
        );
    }
    let _ = connection.close(200, "done".into()).await;
    Ok(foreign)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_legacy_orders_walk_every_path() {
        let orders: Vec<OrderSubmittedV1> = (0..LEGACY_ORDERS).map(legacy_order).collect();
        let customers = |prefix: &str| {
            orders
                .iter()
                .filter(|order| order.customer_id.starts_with(prefix))
                .count()
        };
        assert!(customers(mix::BROKE) > 0, "declined");
        assert!(customers("legacy-") > 0, "a customer billing never saw");
        assert!(
            customers("c-") > customers(mix::BROKE),
            "customers of the load (c-broke aside)"
        );
        let sold_out = orders
            .iter()
            .filter(|order| order.lines.iter().any(|line| line.sku == mix::SOLD_OUT))
            .count();
        assert!(sold_out > 0 && sold_out < orders.len(), "out of stock");
        let catalog: BTreeMap<&str, i64> = mix::catalog().into_iter().collect();
        for line in orders.iter().flat_map(|order| &order.lines) {
            assert_ne!(line.unit_price_cents, catalog[line.sku.as_str()]);
        }
    }
}
