//! `Idempotency-Key`: a retried submission is the same order, published once.

use serde_json::Value;

use crate::helpers::{order_body, spawn_app};

#[tokio::test]
async fn a_retried_post_with_the_same_idempotency_key_returns_the_same_order_and_publishes_once() {
    let app = spawn_app().await;
    let submits = app.probe("order.*.submit").await;
    let post = || {
        app.post_orders()
            .header("Idempotency-Key", "checkout-42")
            .json(&order_body())
            .send()
    };

    let first = post().await.expect("first POST");
    let second = post().await.expect("retried POST");

    assert_eq!(first.status(), 202);
    assert_eq!(second.status(), 202);
    assert_eq!(
        second.headers().get("location"),
        first.headers().get("location")
    );
    let first: Value = first.json().await.expect("JSON");
    let second: Value = second.json().await.expect("JSON");
    assert_eq!(first["id"], second["id"]);
    assert_eq!(app.order_count().await, 1);
    assert_eq!(app.staged("order.v2.submit").await, 1);
    let published = submits.next().await;
    assert_eq!(published.payload["order_id"], first["id"]);
    app.outbox_flushed().await;
    assert_eq!(
        submits.waiting().await,
        0,
        "a second order.submit was published"
    );
    app.cleanup().await;
}

#[tokio::test]
async fn the_same_idempotency_key_with_a_different_order_is_a_422() {
    let app = spawn_app().await;
    let mut other = order_body();
    other["lines"][0]["quantity"] = 3.into();

    let first = app
        .post_orders()
        .header("Idempotency-Key", "checkout-43")
        .json(&order_body())
        .send()
        .await
        .expect("POST");
    let second = app
        .post_orders()
        .header("Idempotency-Key", "checkout-43")
        .json(&other)
        .send()
        .await
        .expect("POST");

    assert_eq!(first.status(), 202);
    assert_eq!(second.status(), 422);
    let error: Value = second.json().await.expect("a JSON error");
    assert_eq!(error["error"], "validation");
    assert_eq!(error["field"], "Idempotency-Key");
    assert_eq!(app.order_count().await, 1);
    app.cleanup().await;
}

#[tokio::test]
async fn concurrent_identical_posts_with_one_key_create_one_order() {
    let app = spawn_app().await;

    let responses = futures_util::future::join_all((0..8).map(|_| {
        app.post_orders()
            .header("Idempotency-Key", "double-click")
            .json(&order_body())
            .send()
    }))
    .await;

    let mut ids = Vec::new();
    for response in responses {
        let response = response.expect("POST");
        assert_eq!(response.status(), 202);
        let order: Value = response.json().await.expect("JSON");
        ids.push(order["id"].as_str().expect("an id").to_owned());
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 1, "several orders for one key: {ids:?}");
    assert_eq!(app.order_count().await, 1);
    assert_eq!(app.staged("order.v2.submit").await, 1);
    app.cleanup().await;
}

#[tokio::test]
async fn orders_without_a_key_are_never_merged() {
    let app = spawn_app().await;

    let first = app.submit_order().await;
    let second = app.submit_order().await;

    assert_ne!(first, second);
    assert_eq!(app.order_count().await, 2);
    app.cleanup().await;
}
