//! `order.*.confirmed`: a reserved order ships with a tracking number.

use contracts::logistics::{OrderShipped, StockReserved};
use event_bus::Event;
use serde_json::json;

use crate::helpers::{DEFAULT_STOCK, confirmed, spawn_app, submitted};

#[tokio::test]
async fn a_confirmed_order_ships_with_a_tracking_number_and_leaves_the_warehouse() {
    let app = spawn_app().await;
    let probe = app.probe("logistics.*.*").await;
    let order = submitted(&[("BOOK-1", 3)]);
    app.publish(&order).await;
    let _: StockReserved = probe.next_event().await;

    app.publish(&confirmed(&order)).await;

    let shipped: OrderShipped = probe.next_event().await;
    assert_eq!(shipped.order_id, order.order_id);
    let digits = shipped
        .tracking_number
        .strip_prefix("TRK-")
        .expect("a TRK- tracking number");
    assert_eq!(digits.len(), 12);
    assert!(
        digits
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase())
    );
    assert_eq!(
        app.stock("BOOK-1").await,
        json!({"sku": "BOOK-1", "on_hand": DEFAULT_STOCK - 3, "reserved": 0})
    );
    let (status, tracking): (String, Option<String>) =
        sqlx::query_as("SELECT status, tracking_number FROM reservations WHERE order_id = $1")
            .bind(order.order_id)
            .fetch_one(&app.pool)
            .await
            .expect("read the reservation");
    assert_eq!(status, "shipped");
    assert_eq!(tracking, Some(shipped.tracking_number));
    app.cleanup().await;
}

#[tokio::test]
async fn a_confirmation_delivered_twice_ships_once() {
    let app = spawn_app().await;
    let probe = app.probe("logistics.*.*").await;
    let order = submitted(&[("BOOK-1", 3)]);
    app.publish(&order).await;
    let _: StockReserved = probe.next_event().await;

    let first = app.publish(&confirmed(&order)).await;
    let second = app.publish(&confirmed(&order)).await;
    app.wait_until_handled(&[first, second]).await;

    assert_eq!(app.stock("BOOK-1").await["on_hand"], DEFAULT_STOCK - 3);
    assert_eq!(app.staged(OrderShipped::ROUTING_KEY).await, 1);
    app.cleanup().await;
}

#[tokio::test]
async fn a_confirmation_without_a_reservation_is_retried_then_dead_lettered_with_the_reason() {
    let app = spawn_app().await;
    let order = submitted(&[("BOOK-1", 3)]);

    app.publish(&confirmed(&order)).await;

    let dead = app.next_dead_letter().await;
    let Some(reason) = dead.header(event_bus::envelope::ERROR) else {
        panic!("the dead letter has no error header: {:?}", dead.properties);
    };
    assert!(reason.contains("no reservation"), "{reason}");
    assert_eq!(app.staged(OrderShipped::ROUTING_KEY).await, 0);
    app.cleanup().await;
}
