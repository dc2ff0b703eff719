//! Replenishment: a reservation that leaves a SKU low asks the supplier, who restocks it.

use contracts::logistics::{ReplenishmentRequested, StockReserved};
use event_bus::Event;
use service_kit::testing::eventually;

use crate::helpers::{
    DEFAULT_STOCK, REPLENISH_QUANTITY, THRESHOLD, spawn_app, spawn_app_with, submitted,
};

#[tokio::test]
async fn a_reservation_below_the_threshold_requests_a_replenishment_that_the_supplier_delivers() {
    let app = spawn_app().await;
    let probe = app.probe("logistics.*.replenishment_requested").await;
    let order = submitted(&[("BOOK-1", 95)]);

    app.publish(&order).await;

    let requested: ReplenishmentRequested = probe.next_event().await;
    assert_eq!(
        requested,
        ReplenishmentRequested {
            sku: "BOOK-1".into(),
            on_hand: 5,
            threshold: THRESHOLD,
            quantity: REPLENISH_QUANTITY,
        }
    );
    let restocked = DEFAULT_STOCK + i64::from(REPLENISH_QUANTITY);
    let stock = eventually("the supplier restocking BOOK-1", || async {
        let stock = app.stock("BOOK-1").await;
        (stock["on_hand"] == restocked).then_some(stock)
    })
    .await;
    assert_eq!(stock["reserved"], 95);
    app.cleanup().await;
}

#[tokio::test]
async fn a_reservation_leaving_exactly_the_threshold_requests_nothing() {
    let app = spawn_app().await;
    let order = submitted(&[("BOOK-1", 90)]);

    let submit = app.publish(&order).await;
    app.wait_until_handled(&[submit]).await;

    assert_eq!(app.staged(StockReserved::ROUTING_KEY).await, 1);
    assert_eq!(app.staged(ReplenishmentRequested::ROUTING_KEY).await, 0);
    app.cleanup().await;
}

#[tokio::test]
async fn a_sku_with_a_pending_replenishment_is_not_replenished_twice() {
    // A supplier slower than the test, so the first replenishment stays pending.
    let app = spawn_app_with(|settings| settings.service.replenish_delay_ms = 600_000).await;

    let first = app.publish(&submitted(&[("BOOK-1", 95)])).await;
    app.wait_until_handled(&[first]).await;
    let second = app.publish(&submitted(&[("BOOK-1", 1)])).await;
    app.wait_until_handled(&[second]).await;

    assert_eq!(app.staged(StockReserved::ROUTING_KEY).await, 2);
    assert_eq!(app.staged(ReplenishmentRequested::ROUTING_KEY).await, 1);
    assert_eq!(app.stock("BOOK-1").await["on_hand"], DEFAULT_STOCK);
    app.cleanup().await;
}
