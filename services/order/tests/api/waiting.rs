//! `GET /orders/{id}?wait=`: held while pending, answered once the order moves or the wait ends.

use crate::helpers::{spawn_app, spawn_app_with};
use crate::outcomes::{charged, reserved};

#[tokio::test]
async fn a_waiting_get_answers_with_the_order_once_it_is_confirmed() {
    // With the fallback re-read ten minutes away, only the notification can wake the request.
    let app = spawn_app_with(|settings| settings.service.wait_recheck_ms = 600_000).await;
    let id = app.submit_order().await;
    let client = app.client.clone();
    let url = format!("{}/orders/{id}?wait=10", app.address);
    let waiting = tokio::spawn(async move { client.get(url).send().await });

    app.publish(&charged(id), id).await;
    app.publish(&reserved(id), id).await;

    let response = waiting
        .await
        .expect("the waiting request task joins")
        .expect("the waiting request is answered");
    assert_eq!(response.status(), 200);
    let order: serde_json::Value = response.json().await.expect("JSON");
    assert_eq!(order["status"], "confirmed");
    app.cleanup().await;
}

#[tokio::test]
async fn a_wait_beyond_the_cap_answers_with_the_pending_order_when_the_cap_runs_out() {
    let app = spawn_app_with(|settings| settings.service.max_wait_secs = 1).await;
    let id = app.submit_order().await;

    let order = app.order(id, "?wait=3600").await;

    assert_eq!(order["status"], "pending");
    assert_eq!(order["id"], id.to_string());
    app.cleanup().await;
}

#[tokio::test]
async fn a_wait_on_an_order_that_is_no_longer_pending_answers_at_once() {
    let app = spawn_app().await;
    let id = app.submit_order().await;
    app.publish(&charged(id), id).await;
    app.publish(&reserved(id), id).await;
    app.order_when(id, |order| order["status"] == "confirmed")
        .await;

    let order = app.order(id, "?wait=30").await;

    assert_eq!(order["status"], "confirmed");
    app.cleanup().await;
}
