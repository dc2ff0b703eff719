//! `order.*.submit`: every line reserved, or none.

use contracts::logistics::{OutOfStock, ReservedLine, ShortSku, StockReserved};
use event_bus::Event;
use serde_json::json;

use crate::helpers::{DEFAULT_STOCK, spawn_app, spawn_app_with, submitted};

fn line(sku: &str, quantity: u32) -> ReservedLine {
    ReservedLine {
        sku: sku.into(),
        quantity,
    }
}

#[tokio::test]
async fn a_submit_reserves_every_line_and_publishes_stock_reserved() {
    let app = spawn_app().await;
    let probe = app.probe("logistics.*.*").await;
    let order = submitted(&[("PEN-7", 3), ("BOOK-1", 2), ("BOOK-1", 1)]);

    app.publish(&order).await;

    let reserved: StockReserved = probe.next_event().await;
    assert_eq!(
        reserved,
        StockReserved {
            order_id: order.order_id,
            lines: vec![line("BOOK-1", 3), line("PEN-7", 3)],
        }
    );
    assert_eq!(
        app.stock("BOOK-1").await,
        json!({"sku": "BOOK-1", "on_hand": DEFAULT_STOCK, "reserved": 3})
    );
    assert_eq!(app.stock("PEN-7").await["reserved"], 3);
    app.cleanup().await;
}

#[tokio::test]
async fn a_submit_with_a_short_sku_is_out_of_stock_naming_it_and_reserves_nothing() {
    let app = spawn_app().await;
    let probe = app.probe("logistics.*.*").await;
    app.set_on_hand("PEN-7", 1).await;
    let order = submitted(&[("BOOK-1", 2), ("PEN-7", 3)]);

    app.publish(&order).await;

    let out: OutOfStock = probe.next_event().await;
    assert_eq!(
        out,
        OutOfStock {
            order_id: order.order_id,
            short: vec![ShortSku {
                sku: "PEN-7".into(),
                requested: 3,
                available: 1,
            }],
        }
    );
    assert_eq!(app.stock("BOOK-1").await["reserved"], 0);
    assert_eq!(
        app.stock("PEN-7").await,
        json!({"sku": "PEN-7", "on_hand": 1, "reserved": 0})
    );
    assert_eq!(app.staged(StockReserved::ROUTING_KEY).await, 0);
    app.cleanup().await;
}

#[tokio::test]
async fn the_same_submit_delivered_twice_with_different_message_ids_reserves_once() {
    let app = spawn_app().await;
    let order = submitted(&[("BOOK-1", 2)]);

    let first = app.publish(&order).await;
    let second = app.publish(&order).await;
    app.wait_until_handled(&[first, second]).await;

    assert_eq!(app.stock("BOOK-1").await["reserved"], 2);
    assert_eq!(app.staged(StockReserved::ROUTING_KEY).await, 1);
    app.cleanup().await;
}

#[tokio::test]
async fn concurrent_orders_for_the_same_skus_never_reserve_more_than_is_on_hand() {
    // No replenishment, so that nothing is added while the orders compete.
    let app = spawn_app_with(|settings| settings.service.replenish_threshold = 0).await;
    app.set_on_hand("A", 5).await;
    app.set_on_hand("B", 100).await;
    let orders: Vec<_> = (0..12)
        .map(|i| {
            // Half list the SKUs the other way round: locks are still taken in SKU order.
            if i % 2 == 0 {
                submitted(&[("A", 1), ("B", 1)])
            } else {
                submitted(&[("B", 1), ("A", 1)])
            }
        })
        .collect();

    let mut message_ids = Vec::new();
    for order in &orders {
        message_ids.push(app.publish(order).await);
    }
    app.wait_until_handled(&message_ids).await;

    assert_eq!(app.stock("A").await["reserved"], 5);
    assert_eq!(app.stock("B").await["reserved"], 5);
    assert_eq!(app.staged(StockReserved::ROUTING_KEY).await, 5);
    assert_eq!(app.staged(OutOfStock::ROUTING_KEY).await, 7);
    app.cleanup().await;
}
