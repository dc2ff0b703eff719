//! A confirmed order is marked shipped when logistics ships it.

use chrono::Utc;
use contracts::logistics::OrderShipped;
use serde_json::Value;
use uuid::Uuid;

use crate::helpers::spawn_app;
use crate::outcomes::{charged, reserved};

pub fn shipped(order_id: Uuid, tracking_number: &str) -> OrderShipped {
    OrderShipped {
        order_id,
        tracking_number: tracking_number.into(),
        shipped_at: Utc::now(),
    }
}

#[tokio::test]
async fn a_shipment_after_confirmation_marks_the_order_shipped_with_a_history_of_three_events() {
    let app = spawn_app().await;
    let id = app.submit_order().await;
    app.publish(&charged(id), id).await;
    app.order_when(id, |order| order["charged_at"].is_string())
        .await;
    let reservation = app.publish(&reserved(id), id).await;
    app.order_when(id, |order| order["status"] == "confirmed")
        .await;

    let shipment = app.publish(&shipped(id, "TRACK-1"), id).await;

    let order = app
        .order_when(id, |order| order["status"] == "shipped")
        .await;
    assert_eq!(order["tracking_number"], "TRACK-1");
    let history = order["history"].as_array().expect("a history");
    let steps: Vec<(&str, &str)> = history
        .iter()
        .map(|entry| {
            (
                entry["status"].as_str().unwrap_or_default(),
                entry["event"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        steps,
        vec![
            ("pending", "http"),
            ("confirmed", "logistics.v1.reserved"),
            ("shipped", "logistics.v1.shipped"),
        ]
    );
    assert_eq!(history[0]["message_id"], Value::Null);
    assert_eq!(history[1]["message_id"], reservation.to_string());
    assert_eq!(history[2]["message_id"], shipment.to_string());
    app.cleanup().await;
}

#[tokio::test]
async fn a_shipment_for_an_order_still_pending_is_ignored() {
    let app = spawn_app().await;
    let id = app.submit_order().await;

    let shipment = app.publish(&shipped(id, "TRACK-2"), id).await;
    // Handled (it is in the inbox), yet the order did not move.
    app.wait_until_handled(&[shipment]).await;

    let order = app.order(id, "").await;
    assert_eq!(order["status"], "pending");
    assert_eq!(order["tracking_number"], Value::Null);
    app.cleanup().await;
}
