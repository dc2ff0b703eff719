//! Orders past the deadline of their status are reported by `GET /orders?stalled=true`, and not
//! cancelled: a confirmed order whose shipment never comes keeps its charge and reservation.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::helpers::{spawn_app, spawn_app_with};
use crate::outcomes::{charged, reserved};
use crate::shipping::shipped;

fn time(value: &Value) -> DateTime<Utc> {
    value
        .as_str()
        .and_then(|text| text.parse().ok())
        .unwrap_or_else(|| panic!("a time: {value}"))
}

#[tokio::test]
async fn a_confirmed_order_past_its_deadline_is_listed_as_stalled_until_it_ships() {
    // Stalled as soon as confirmed: as if the shipment had been lost.
    let app = spawn_app_with(|settings| settings.service.confirmed_deadline_secs = 0).await;
    let id = app.submit_order().await;
    app.publish(&charged(id), id).await;
    app.publish(&reserved(id), id).await;
    let order = app
        .order_when(id, |order| order["status"] == "confirmed")
        .await;

    let stalled = app.stalled().await;

    assert_eq!(stalled.len(), 1, "{stalled:?}");
    assert_eq!(stalled[0]["id"], id.to_string());
    assert_eq!(stalled[0]["status"], "confirmed");
    assert_eq!(stalled[0]["origin"], "http");
    let confirmed_at = time(&order["history"][1]["at"]);
    assert_eq!(time(&stalled[0]["since"]), confirmed_at);
    assert_eq!(time(&stalled[0]["deadline_at"]), confirmed_at);
    // Reported, not cancelled: its money and stock may be right.
    assert_eq!(app.order(id, "").await["status"], "confirmed");
    assert_eq!(app.staged("order.v1.cancelled").await, 0);

    // Replaying the lost shipment moves it on, and off the list.
    app.publish(&shipped(id, "TRACK-9"), id).await;
    app.order_when(id, |order| order["status"] == "shipped")
        .await;
    assert!(app.stalled().await.is_empty());
    app.cleanup().await;
}

#[tokio::test]
async fn orders_within_the_deadline_of_their_status_or_final_are_not_stalled() {
    let app = spawn_app().await;
    let pending = app.submit_order().await;
    let confirmed = app.submit_order().await;
    app.publish(&charged(confirmed), confirmed).await;
    app.publish(&reserved(confirmed), confirmed).await;
    app.order_when(confirmed, |order| order["status"] == "confirmed")
        .await;

    assert!(app.stalled().await.is_empty());
    assert_eq!(app.order(pending, "").await["status"], "pending");
    app.cleanup().await;
}

#[tokio::test]
async fn the_list_of_stalled_orders_is_bounded_by_its_limit_longest_overdue_first() {
    let app = spawn_app_with(|settings| settings.service.confirmed_deadline_secs = 0).await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        let id = app.submit_order().await;
        app.publish(&charged(id), id).await;
        app.publish(&reserved(id), id).await;
        app.order_when(id, |order| order["status"] == "confirmed")
            .await;
        ids.push(id.to_string());
    }

    let body = app.get_json("/orders?stalled=true&limit=2").await;

    let listed: Vec<&str> = body["orders"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|order| order["id"].as_str().expect("an id"))
        .collect();
    assert_eq!(listed, [ids[0].as_str(), ids[1].as_str()]);
    app.cleanup().await;
}
