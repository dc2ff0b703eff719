//! Answers about an order the service never stored (another producer's submission): the order is
//! recorded as foreign and refused, cancelled once, naming the customer billing gave, so that
//! billing refunds and logistics releases.

use serde_json::Value;
use uuid::Uuid;

use crate::helpers::{ORDER_TOTAL, spawn_app, spawn_app_with};
use crate::outcomes::{charged, declined, reserved};
use crate::shipping::shipped;

/// The statuses of the order's history, oldest first.
fn statuses(order: &Value) -> Vec<&str> {
    order["history"]
        .as_array()
        .expect("a history")
        .iter()
        .map(|entry| entry["status"].as_str().expect("a status"))
        .collect()
}

#[tokio::test]
async fn a_charge_for_an_order_never_stored_records_it_as_foreign_and_cancels_it_for_a_refund() {
    let app = spawn_app().await;
    let cancellations = app.probe("order.*.cancelled").await;
    let stranger = Uuid::now_v7();

    let charge = app.publish(&charged(stranger), stranger).await;

    let cancelled = cancellations.next().await;
    assert_eq!(cancelled.routing_key, "order.v1.cancelled");
    assert_eq!(cancelled.correlation_id(), stranger.to_string());
    assert_eq!(cancelled.payload["order_id"], stranger.to_string());
    assert_eq!(
        cancelled.payload["customer_id"], "alice",
        "billing refunds under the lock of the customer it charged"
    );
    assert_eq!(cancelled.payload["email"], "");
    assert_eq!(cancelled.payload["reason"], "timeout");
    let order = app.order(stranger, "").await;
    assert_eq!(order["origin"], "foreign");
    assert_eq!(order["status"], "cancelled");
    assert_eq!(order["customer_id"], "alice");
    assert_eq!(order["total_cents"], ORDER_TOTAL);
    assert!(order["charged_at"].is_string());
    assert!(
        order["cancel_detail"]
            .as_str()
            .is_some_and(|detail| detail.contains("not submitted through the order service")),
        "{order}"
    );
    assert_eq!(statuses(&order), ["pending", "cancelled"]);
    assert_eq!(order["history"][1]["message_id"], charge.to_string());
    app.cleanup().await;
}

#[tokio::test]
async fn a_foreign_order_heard_of_from_logistics_first_waits_for_billing_to_name_the_customer() {
    let app = spawn_app().await;
    let stranger = Uuid::now_v7();

    let reservation = app.publish(&reserved(stranger), stranger).await;
    app.wait_until_handled(&[reservation]).await;

    let order = app.order(stranger, "").await;
    assert_eq!(order["origin"], "foreign");
    assert_eq!(
        order["status"], "pending",
        "no customer to name in a refund yet"
    );
    assert!(order["reserved_at"].is_string());
    assert_eq!(app.staged("order.v1.cancelled").await, 0);

    let decline = app.publish(&declined(stranger), stranger).await;
    app.wait_until_handled(&[decline]).await;

    let order = app.order(stranger, "").await;
    assert_eq!(order["status"], "cancelled");
    assert_eq!(order["customer_id"], "alice");
    assert_eq!(statuses(&order), ["pending", "cancelled"]);
    assert_eq!(app.staged("order.v1.cancelled").await, 1);
    assert_eq!(app.staged("order.v1.confirmed").await, 0);
    app.cleanup().await;
}

#[tokio::test]
async fn every_answer_about_a_foreign_order_twice_and_redelivered_cancels_it_once() {
    let app = spawn_app().await;
    let stranger = Uuid::now_v7();
    let first_charge = Uuid::now_v7();

    let mut handled = vec![first_charge];
    app.publish_with_id(&charged(stranger), stranger, first_charge)
        .await;
    handled.push(app.publish(&reserved(stranger), stranger).await);
    // A redelivery of the charge (same id), then a duplicate of each answer (other ids).
    app.publish_with_id(&charged(stranger), stranger, first_charge)
        .await;
    handled.push(app.publish(&charged(stranger), stranger).await);
    handled.push(app.publish(&reserved(stranger), stranger).await);
    app.wait_until_handled(&handled).await;

    let order = app.order(stranger, "").await;
    assert_eq!(order["status"], "cancelled");
    assert_eq!(statuses(&order), ["pending", "cancelled"]);
    assert!(order["charged_at"].is_string() && order["reserved_at"].is_string());
    assert_eq!(app.staged("order.v1.cancelled").await, 1);
    assert_eq!(app.staged("order.v1.confirmed").await, 0);
    app.cleanup().await;
}

#[tokio::test]
async fn a_foreign_order_still_waiting_for_billing_at_its_deadline_is_reported_not_swept() {
    let app = spawn_app_with(|settings| settings.service.deadline_secs = 0).await;
    let stranger = Uuid::now_v7();

    let reservation = app.publish(&reserved(stranger), stranger).await;
    app.wait_until_handled(&[reservation]).await;

    let stalled = app
        .stalled_when("the foreign order listed", |orders| {
            orders
                .iter()
                .any(|order| order["id"] == stranger.to_string())
        })
        .await;
    assert_eq!(stalled.len(), 1);
    assert_eq!(stalled[0]["status"], "pending");
    assert_eq!(stalled[0]["origin"], "foreign");
    // The sweeper has had its turns meanwhile (every 50 ms): a foreign order is not its to cancel.
    let swept = app.submit_order().await;
    app.order_when(swept, |order| order["status"] == "cancelled")
        .await;
    assert_eq!(app.order(stranger, "").await["status"], "pending");
    assert_eq!(
        app.staged("order.v1.cancelled").await,
        1,
        "only the swept one"
    );
    app.cleanup().await;
}

#[tokio::test]
async fn a_shipment_for_an_order_never_stored_is_dead_lettered() {
    let app = spawn_app().await;
    let stranger = Uuid::now_v7();

    app.publish(&shipped(stranger, "TRACK-X"), stranger).await;

    let dead = app.next_dead_letter().await;
    assert_eq!(dead.payload["order_id"], stranger.to_string());
    assert_eq!(app.order_count().await, 0);
    app.cleanup().await;
}
