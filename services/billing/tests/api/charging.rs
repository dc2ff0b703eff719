//! `order.*.submit`: charge within credit, decline beyond it, never twice.

use contracts::billing::{PaymentCharged, PaymentDeclined};
use contracts::order::{OrderLine, OrderSubmitted, OrderSubmittedV1};
use event_bus::Event;
use serde_json::json;
use uuid::Uuid;

use crate::helpers::{DEFAULT_CREDIT_CENTS, spawn_app, submitted};

#[tokio::test]
async fn a_submit_within_credit_is_charged_and_shows_on_the_customer() {
    let app = spawn_app().await;
    let probe = app.probe("billing.*.*").await;
    let order = submitted("c-42", 3_097);

    app.publish(&order, &order.order_id.to_string()).await;

    let charged: PaymentCharged = probe.next_event().await;
    assert_eq!(
        charged,
        PaymentCharged {
            order_id: order.order_id,
            customer_id: "c-42".into(),
            amount_cents: 3_097,
        }
    );
    let customer = app.customer("c-42").await;
    assert_eq!(
        customer,
        json!({
            "id": "c-42",
            "credit_limit_cents": DEFAULT_CREDIT_CENTS,
            "available_cents": DEFAULT_CREDIT_CENTS - 3_097,
            "payments": [
                {"order_id": order.order_id, "amount_cents": 3_097, "status": "charged"}
            ],
        })
    );
    app.cleanup().await;
}

#[tokio::test]
async fn a_submit_over_credit_is_declined_and_nothing_is_charged() {
    let app = spawn_app().await;
    let probe = app.probe("billing.*.*").await;
    let response = app
        .put_customer("c-7", &json!({"credit_limit_cents": 1_000}))
        .await;
    assert_eq!(response.status(), 200);
    let order = submitted("c-7", 3_097);

    app.publish(&order, &order.order_id.to_string()).await;

    let declined: PaymentDeclined = probe.next_event().await;
    assert_eq!(declined.order_id, order.order_id);
    assert_eq!(declined.amount_cents, 3_097);
    assert_eq!(declined.available_cents, 1_000);
    assert_eq!(declined.reason, "insufficient funds");
    let customer = app.customer("c-7").await;
    assert_eq!(customer["available_cents"], 1_000);
    assert_eq!(customer["payments"], json!([]));
    assert_eq!(app.staged(PaymentCharged::ROUTING_KEY).await, 0);
    app.cleanup().await;
}

#[tokio::test]
async fn charges_add_up_until_the_credit_is_used_and_the_next_submit_is_declined() {
    let app = spawn_app().await;
    let probe = app.probe("billing.*.*").await;
    let first = submitted("c-1", DEFAULT_CREDIT_CENTS - 100);
    let second = submitted("c-1", 101);

    app.publish(&first, "flow-1").await;
    let _: PaymentCharged = probe.next_event().await;
    app.publish(&second, "flow-2").await;

    let declined: PaymentDeclined = probe.next_event().await;
    assert_eq!(declined.order_id, second.order_id);
    assert_eq!(declined.available_cents, 100);
    assert_eq!(app.customer("c-1").await["available_cents"], 100);
    app.cleanup().await;
}

#[tokio::test]
async fn the_same_submit_delivered_twice_with_different_message_ids_is_charged_once() {
    let app = spawn_app().await;
    let order = submitted("c-42", 2_500);

    let first = app.publish(&order, "flow").await;
    let second = app.publish(&order, "flow").await;
    app.wait_until_handled(&[first, second]).await;

    let customer = app.customer("c-42").await;
    assert_eq!(customer["payments"].as_array().map(Vec::len), Some(1));
    assert_eq!(customer["available_cents"], DEFAULT_CREDIT_CENTS - 2_500);
    assert_eq!(app.staged(PaymentCharged::ROUTING_KEY).await, 1);
    app.cleanup().await;
}

#[tokio::test]
async fn a_legacy_v1_submit_is_charged_with_the_total_computed_from_its_lines() {
    let app = spawn_app().await;
    let probe = app.probe("billing.*.*").await;
    let legacy = OrderSubmittedV1 {
        order_id: Uuid::new_v4(),
        customer_id: "c-legacy".into(),
        lines: vec![
            OrderLine {
                sku: "BOOK-1".into(),
                quantity: 2,
                unit_price_cents: 1_250,
            },
            OrderLine {
                sku: "PEN-7".into(),
                quantity: 3,
                unit_price_cents: 199,
            },
        ],
    };
    assert_eq!(OrderSubmittedV1::ROUTING_KEY, "order.v1.submit");

    app.publish(&legacy, &legacy.order_id.to_string()).await;

    let charged: PaymentCharged = probe.next_event().await;
    assert_eq!(charged.order_id, legacy.order_id);
    assert_eq!(
        charged.amount_cents,
        OrderSubmitted::total_of(&legacy.lines)
    );
    assert_eq!(charged.amount_cents, 3_097);
    app.cleanup().await;
}
