//! What billing and logistics report moves the order, and the order service announces it.

use contracts::billing::{PaymentCharged, PaymentDeclined};
use contracts::logistics::{OutOfStock, ShortSku, StockReserved};
use serde_json::Value;
use uuid::Uuid;

use crate::helpers::{ORDER_TOTAL, spawn_app};

pub fn charged(order_id: Uuid) -> PaymentCharged {
    PaymentCharged {
        order_id,
        customer_id: "alice".into(),
        amount_cents: ORDER_TOTAL,
    }
}

pub fn reserved(order_id: Uuid) -> StockReserved {
    StockReserved {
        order_id,
        lines: Vec::new(),
    }
}

pub fn declined(order_id: Uuid) -> PaymentDeclined {
    PaymentDeclined {
        order_id,
        customer_id: "alice".into(),
        amount_cents: ORDER_TOTAL,
        available_cents: 1000,
        reason: "insufficient funds".into(),
    }
}

#[tokio::test]
async fn a_charge_and_a_reservation_confirm_the_order_and_announce_it() {
    let app = spawn_app().await;
    let confirmations = app.probe("order.*.confirmed").await;
    let id = app.submit_order().await;

    app.publish(&charged(id), id).await;
    app.publish(&reserved(id), id).await;

    let order = app.order(id, "?wait=20").await;
    assert_eq!(order["status"], "confirmed");
    assert_eq!(order["cancel_reason"], Value::Null);
    assert!(order["charged_at"].is_string());
    assert!(order["reserved_at"].is_string());
    let confirmed = confirmations.next().await;
    assert_eq!(confirmed.routing_key, "order.v1.confirmed");
    assert_eq!(confirmed.correlation_id(), id.to_string());
    assert_eq!(confirmed.payload["order_id"], id.to_string());
    assert_eq!(confirmed.payload["total_cents"], ORDER_TOTAL);
    assert_eq!(confirmed.payload["email"], "alice@example.com");
    app.cleanup().await;
}

#[tokio::test]
async fn a_declined_payment_cancels_the_order_and_announces_it() {
    let app = spawn_app().await;
    let cancellations = app.probe("order.*.cancelled").await;
    let id = app.submit_order().await;

    app.publish(&reserved(id), id).await;
    app.publish(&declined(id), id).await;

    let order = app.order(id, "?wait=20").await;
    assert_eq!(order["status"], "cancelled");
    assert_eq!(order["cancel_reason"], "payment_declined");
    assert!(
        order["cancel_detail"]
            .as_str()
            .is_some_and(|detail| detail.contains("insufficient funds"))
    );
    let cancelled = cancellations.next().await;
    assert_eq!(cancelled.routing_key, "order.v1.cancelled");
    assert_eq!(cancelled.correlation_id(), id.to_string());
    assert_eq!(cancelled.payload["order_id"], id.to_string());
    assert_eq!(cancelled.payload["reason"], "payment_declined");
    assert!(cancelled.payload["detail"].is_string());
    app.cleanup().await;
}

#[tokio::test]
async fn a_shortage_cancels_the_order_naming_the_short_skus() {
    let app = spawn_app().await;
    let cancellations = app.probe("order.*.cancelled").await;
    let id = app.submit_order().await;
    let shortage = OutOfStock {
        order_id: id,
        short: vec![ShortSku {
            sku: "SKU-1".into(),
            requested: 2,
            available: 1,
        }],
    };

    app.publish(&shortage, id).await;

    let order = app.order(id, "?wait=20").await;
    assert_eq!(order["status"], "cancelled");
    assert_eq!(order["cancel_reason"], "out_of_stock");
    assert!(
        order["cancel_detail"]
            .as_str()
            .is_some_and(|detail| detail.contains("SKU-1: 2 requested, 1 available"))
    );
    let cancelled = cancellations.next().await;
    assert_eq!(cancelled.payload["reason"], "out_of_stock");
    app.cleanup().await;
}

#[tokio::test]
async fn a_charge_arriving_after_a_cancellation_is_recorded_but_does_not_confirm() {
    let app = spawn_app().await;
    let id = app.submit_order().await;
    app.publish(&declined(id), id).await;
    app.order_when(id, |order| order["status"] == "cancelled")
        .await;

    app.publish(&reserved(id), id).await;
    app.publish(&charged(id), id).await;

    let order = app
        .order_when(id, |order| {
            order["charged_at"].is_string() && order["reserved_at"].is_string()
        })
        .await;
    assert_eq!(order["status"], "cancelled");
    assert_eq!(order["cancel_reason"], "payment_declined");
    assert_eq!(order["history"].as_array().map(Vec::len), Some(2));
    assert_eq!(app.staged("order.v1.confirmed").await, 0);
    assert_eq!(app.staged("order.v1.cancelled").await, 1);
    app.cleanup().await;
}
