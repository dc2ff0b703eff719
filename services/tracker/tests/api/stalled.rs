//! `GET /stalled`: the orders the order service reports as stalled, passed on for the page; a
//! 503 when the order service cannot be read.

use serde_json::Value;

use crate::helpers::{StalledShop, spawn_app_with, staff_token};

#[tokio::test]
async fn the_orders_the_order_service_reports_as_stalled_are_passed_on() {
    let stalled = StalledShop::start().await;
    let (shop, tracker) = (&stalled.shop, &stalled.tracker);

    let url = format!("{}/stalled", tracker.address);
    let orders = shop
        .eventually("the tracker lists the stalled order", || async {
            let request = shop.http.get(&url).bearer_auth(staff_token());
            let response = request.send().await.ok()?;
            let body: Value = response.json().await.ok()?;
            let orders = body["orders"].as_array()?.clone();
            (!orders.is_empty()).then_some(orders)
        })
        .await;

    assert_eq!(orders.len(), 1, "{orders:?}");
    assert_eq!(orders[0]["id"], stalled.order_id);
    assert_eq!(orders[0]["status"], "confirmed");
    assert_eq!(orders[0]["origin"], "http");
    assert!(orders[0]["since"].is_string() && orders[0]["deadline_at"].is_string());
    stalled.cleanup().await;
}

#[tokio::test]
async fn the_stalled_orders_are_a_503_while_the_order_service_cannot_be_read() {
    // Nothing listens on port 1.
    let app =
        spawn_app_with(|settings| settings.service.orders.url = "http://127.0.0.1:1".into()).await;

    let (status, body) = app.get("/stalled").await;

    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"], "unavailable");
    app.cleanup().await;
}
