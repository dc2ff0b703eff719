//! The bound on one customer's pending orders: past it, that customer gets 429 with
//! `Retry-After`, and the others are still served. (The bound on held `?wait=` requests has a
//! test binary of its own, `tests/held_requests.rs`: it watches a process-wide gauge.)

use serde_json::Value;

use crate::helpers::{accepted, order_body, own_order_body, spawn_app_with};

#[tokio::test]
async fn a_customer_over_the_bound_on_pending_orders_gets_a_429_while_others_are_served() {
    // Nobody answers for the orders here, so each stays pending.
    let app = spawn_app_with(|settings| settings.service.max_pending_per_customer = 2).await;
    let (alice, bob) = (app.tokens().customer("alice"), app.tokens().customer("bob"));
    let (first, _) = accepted(app.post_order_as(&alice, &own_order_body(), "a-1").await).await;
    accepted(app.post_order_as(&alice, &own_order_body(), "a-2").await).await;

    let refused = app.post_order_as(&alice, &own_order_body(), "a-3").await;
    let on_her_behalf = app.post_order(&order_body()).await;
    let bobs = app.post_order_as(&bob, &own_order_body(), "b-1").await;
    let retried = app.post_order_as(&alice, &own_order_body(), "a-1").await;

    assert_eq!(refused.status(), 429);
    assert_eq!(
        refused
            .headers()
            .get("retry-after")
            .and_then(|value| value.to_str().ok()),
        Some("1")
    );
    let body: Value = refused.json().await.expect("a JSON error body");
    assert_eq!(body["error"], "too_many_requests");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|message| message.contains("is 2")),
        "the message names the bound: {body}"
    );
    assert_eq!(
        on_her_behalf.status(),
        429,
        "the bound is the customer's, whoever places the order"
    );
    accepted(bobs).await;
    let (replayed_order, replayed) = accepted(retried).await;
    assert_eq!(
        (replayed_order, replayed),
        (first, true),
        "a retry of an accepted order is answered, bound or not"
    );
    assert_eq!(app.order_count().await, 3);
    assert_eq!(app.staged("order.v2.submit").await, 3);
    app.cleanup().await;
}

#[tokio::test]
async fn a_customer_is_served_again_once_an_order_leaves_pending() {
    let app = spawn_app_with(|settings| settings.service.max_pending_per_customer = 1).await;
    let alice = app.tokens().customer("alice");
    let (first, _) = accepted(app.post_order_as(&alice, &own_order_body(), "a-1").await).await;
    assert_eq!(
        app.post_order_as(&alice, &own_order_body(), "a-2")
            .await
            .status(),
        429
    );

    app.publish(&crate::outcomes::declined(first), first).await;
    app.order_when(first, |order| order["status"] == "cancelled")
        .await;

    accepted(app.post_order_as(&alice, &own_order_body(), "a-2").await).await;
    app.cleanup().await;
}
