//! `order.*.cancelled`: a reservation is given back; a cancellation that overtakes its submit
//! leaves nothing reserved.

use contracts::logistics::{OrderShipped, ReservedLine, StockReleased, StockReserved};
use event_bus::Event;
use serde_json::json;

use crate::helpers::{DEFAULT_STOCK, cancelled, confirmed, spawn_app, submitted};

#[tokio::test]
async fn a_cancelled_reservation_is_released_and_nothing_stays_reserved() {
    let app = spawn_app().await;
    let probe = app.probe("logistics.*.*").await;
    let order = submitted(&[("BOOK-1", 2)]);
    app.publish(&order).await;
    let _: StockReserved = probe.next_event().await;

    app.publish(&cancelled(&order)).await;

    let released: StockReleased = probe.next_event().await;
    assert_eq!(
        released,
        StockReleased {
            order_id: order.order_id,
            lines: vec![ReservedLine {
                sku: "BOOK-1".into(),
                quantity: 2,
            }],
        }
    );
    assert_eq!(
        app.stock("BOOK-1").await,
        json!({"sku": "BOOK-1", "on_hand": DEFAULT_STOCK, "reserved": 0})
    );
    app.cleanup().await;
}

#[tokio::test]
async fn a_cancellation_delivered_twice_releases_once() {
    let app = spawn_app().await;
    let probe = app.probe("logistics.*.*").await;
    let order = submitted(&[("BOOK-1", 2)]);
    let other = submitted(&[("BOOK-1", 1)]);
    app.publish(&order).await;
    let _: StockReserved = probe.next_event().await;
    app.publish(&other).await;
    let _: StockReserved = probe.next_event().await;

    let first = app.publish(&cancelled(&order)).await;
    let second = app.publish(&cancelled(&order)).await;
    app.wait_until_handled(&[first, second]).await;

    assert_eq!(app.stock("BOOK-1").await["reserved"], 1);
    assert_eq!(app.staged(StockReleased::ROUTING_KEY).await, 1);
    app.cleanup().await;
}

#[tokio::test]
async fn a_cancellation_arriving_before_its_submit_leaves_nothing_reserved() {
    let app = spawn_app().await;
    let order = submitted(&[("BOOK-1", 2)]);

    let cancellation = app.publish(&cancelled(&order)).await;
    app.wait_until_handled(&[cancellation]).await;
    let submit = app.publish(&order).await;
    app.wait_until_handled(&[submit]).await;

    assert_eq!(app.stock("BOOK-1").await["reserved"], 0);
    assert_eq!(app.staged(StockReserved::ROUTING_KEY).await, 0);
    let reservations: i64 = sqlx::query_scalar("SELECT count(*) FROM reservations")
        .fetch_one(&app.pool)
        .await
        .expect("count reservations");
    assert_eq!(reservations, 0);
    app.cleanup().await;
}

#[tokio::test]
async fn a_cancellation_after_shipping_releases_nothing() {
    let app = spawn_app().await;
    let probe = app.probe("logistics.*.*").await;
    let order = submitted(&[("BOOK-1", 2)]);
    app.publish(&order).await;
    let _: StockReserved = probe.next_event().await;
    app.publish(&confirmed(&order)).await;
    let _: OrderShipped = probe.next_event().await;

    let cancellation = app.publish(&cancelled(&order)).await;
    app.wait_until_handled(&[cancellation]).await;

    assert_eq!(
        app.stock("BOOK-1").await,
        json!({"sku": "BOOK-1", "on_hand": DEFAULT_STOCK - 2, "reserved": 0})
    );
    assert_eq!(app.staged(StockReleased::ROUTING_KEY).await, 0);
    app.cleanup().await;
}
