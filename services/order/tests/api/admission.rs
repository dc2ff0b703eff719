//! Load shedding: while too many orders are pending, `POST /orders` answers 503 and stores nothing.

use serde_json::Value;
use service_kit::testing::eventually;

use crate::helpers::{order_body, spawn_app_with};

#[tokio::test]
async fn new_orders_are_refused_with_a_503_while_too_many_are_pending_and_nothing_is_stored() {
    // Nobody answers for the orders here, so each stays pending.
    let app = spawn_app_with(|settings| {
        settings.service.max_pending_orders = 2;
        settings.service.admission_interval_ms = 20;
    })
    .await;
    app.submit_order().await;
    app.submit_order().await;

    // Once the pending orders are counted (on a timer, so a few more may get in first), the next
    // one is refused.
    let accepted = std::cell::Cell::new(2);
    let refused = eventually("a POST refused as overloaded", || async {
        let response = app.post_order(&order_body()).await;
        if response.status() == 202 {
            accepted.set(accepted.get() + 1);
        }
        (response.status() == 503).then_some(response)
    })
    .await;

    assert_eq!(
        refused
            .headers()
            .get("retry-after")
            .and_then(|value| value.to_str().ok()),
        Some("1")
    );
    let body: Value = refused.json().await.expect("a JSON error body");
    assert_eq!(body["error"], "overloaded");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|message| message.contains("the limit is 2")),
        "the message names the limit: {body}"
    );
    assert_eq!(
        app.order_count().await,
        accepted.get(),
        "the accepted orders are stored, the refused one is not"
    );
    app.cleanup().await;
}

#[tokio::test]
async fn a_malformed_order_is_told_what_is_wrong_even_while_orders_are_refused() {
    let app = spawn_app_with(|settings| {
        settings.service.max_pending_orders = 1;
        settings.service.admission_interval_ms = 20;
    })
    .await;
    app.submit_order().await;
    eventually("the pending order counted", || async {
        (app.post_order(&order_body()).await.status() == 503).then_some(())
    })
    .await;

    let mut malformed = order_body();
    malformed["lines"] = Value::Array(Vec::new());
    let response = app.post_order(&malformed).await;

    assert_eq!(response.status(), 422);
    app.cleanup().await;
}
