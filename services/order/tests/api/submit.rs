//! `POST /orders` and `GET /orders/{id}` for a valid order.

use serde_json::Value;

use crate::helpers::{ORDER_TOTAL, order_body, spawn_app};

#[tokio::test]
async fn a_valid_order_is_accepted_as_pending_and_announced_on_the_bus() {
    let app = spawn_app().await;
    let submits = app.probe("order.*.submit").await;

    let response = app.post_order(&order_body()).await;

    assert_eq!(response.status(), 202);
    let location = response
        .headers()
        .get("location")
        .expect("a Location header")
        .to_str()
        .expect("an ASCII location")
        .to_owned();
    let order: Value = response.json().await.expect("an order as JSON");
    let id = order["id"].as_str().expect("an id").to_owned();
    assert_eq!(location, format!("/orders/{id}"));
    assert_eq!(order["status"], "pending");
    assert_eq!(order["customer_id"], "alice");
    assert_eq!(order["email"], "alice@example.com");
    assert_eq!(order["currency"], "EUR");
    assert_eq!(order["lines"], order_body()["lines"]);
    assert_eq!(order["total_cents"], ORDER_TOTAL);
    assert_eq!(order["cancel_reason"], Value::Null);
    assert!(order["created_at"].is_string());

    let submitted = submits.next().await;
    assert_eq!(submitted.routing_key, "order.v2.submit");
    assert_eq!(submitted.correlation_id(), id);
    assert_eq!(submitted.payload["order_id"], id.as_str());
    assert_eq!(submitted.payload["total_cents"], ORDER_TOTAL);
    assert_eq!(submitted.payload["email"], "alice@example.com");
    assert_eq!(submitted.payload["lines"], order_body()["lines"]);
    app.cleanup().await;
}

#[tokio::test]
async fn a_submitted_order_reads_back_with_its_first_history_entry() {
    let app = spawn_app().await;
    let id = app.submit_order().await;

    let order = app.order(id, "").await;

    assert_eq!(order["id"], id.to_string());
    assert_eq!(order["status"], "pending");
    assert_eq!(order["total_cents"], ORDER_TOTAL);
    let history = order["history"].as_array().expect("a history");
    assert_eq!(history.len(), 1);
    assert_eq!(history[0]["status"], "pending");
    assert_eq!(history[0]["event"], "http");
    assert_eq!(history[0]["message_id"], Value::Null);
    assert!(history[0]["at"].is_string());
    app.cleanup().await;
}

#[tokio::test]
async fn the_accepted_order_is_the_order_as_stored() {
    // Nobody answers here, so the order stays as it was committed.
    let app = spawn_app().await;
    let response = app.post_order(&order_body()).await;
    assert_eq!(response.status(), 202);
    let accepted: Value = response.json().await.expect("an order as JSON");

    let id = accepted["id"]
        .as_str()
        .and_then(|id| id.parse().ok())
        .expect("a UUID id");
    let stored = app.order(id, "").await;

    assert_eq!(accepted, stored);
    assert_eq!(stored["history"].as_array().map(Vec::len), Some(1));
    app.cleanup().await;
}
