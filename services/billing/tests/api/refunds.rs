//! `order.*.cancelled`: a charge is refunded; a cancellation that overtakes its submit leaves
//! nothing charged.

use contracts::billing::{PaymentCharged, PaymentRefunded};
use serde_json::json;

use crate::helpers::{DEFAULT_CREDIT_CENTS, cancelled, spawn_app, submitted};

#[tokio::test]
async fn a_charged_order_that_is_cancelled_is_refunded_and_the_credit_restored() {
    let app = spawn_app().await;
    let probe = app.probe("billing.*.*").await;
    let order = submitted("c-42", 3_097);
    app.publish(&order, "flow").await;
    let _: PaymentCharged = probe.next_event().await;

    app.publish(&cancelled(&order), "flow").await;

    let refunded: PaymentRefunded = probe.next_event().await;
    assert_eq!(
        refunded,
        PaymentRefunded {
            order_id: order.order_id,
            customer_id: "c-42".into(),
            amount_cents: 3_097,
        }
    );
    let customer = app.customer("c-42").await;
    assert_eq!(customer["available_cents"], DEFAULT_CREDIT_CENTS);
    assert_eq!(
        customer["payments"],
        json!([{"order_id": order.order_id, "amount_cents": 3_097, "status": "refunded"}])
    );
    app.cleanup().await;
}

#[tokio::test]
async fn a_cancellation_delivered_twice_refunds_once() {
    let app = spawn_app().await;
    let probe = app.probe("billing.*.*").await;
    let order = submitted("c-42", 3_097);
    app.publish(&order, "flow").await;
    let _: PaymentCharged = probe.next_event().await;

    let first = app.publish(&cancelled(&order), "flow").await;
    let second = app.publish(&cancelled(&order), "flow").await;
    app.wait_until_handled(&[first, second]).await;

    assert_eq!(
        app.staged(<PaymentRefunded as event_bus::Event>::ROUTING_KEY)
            .await,
        1
    );
    assert_eq!(
        app.customer("c-42").await["available_cents"],
        DEFAULT_CREDIT_CENTS
    );
    app.cleanup().await;
}

#[tokio::test]
async fn a_cancellation_arriving_before_its_submit_leaves_nothing_charged() {
    let app = spawn_app().await;
    let order = submitted("c-42", 3_097);

    let cancellation = app.publish(&cancelled(&order), "flow").await;
    app.wait_until_handled(&[cancellation]).await;
    let submit = app.publish(&order, "flow").await;
    app.wait_until_handled(&[submit]).await;

    let customer = app.customer("c-42").await;
    assert_eq!(customer["payments"], json!([]));
    assert_eq!(customer["available_cents"], DEFAULT_CREDIT_CENTS);
    assert_eq!(
        app.staged(<PaymentCharged as event_bus::Event>::ROUTING_KEY)
            .await,
        0
    );
    app.cleanup().await;
}
