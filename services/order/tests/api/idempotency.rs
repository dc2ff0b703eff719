//! `Idempotency-Key`: a retried submission is the same order, published once; past the key's
//! retention, the key is forgotten and places a new order.

use std::time::Duration;

use order::key_retention;
use order::store::forget_idempotency_keys;
use serde_json::Value;

use crate::helpers::{TestApp, accepted, order_body, own_order_body, spawn_app};

/// An hour: how far inside or past the retention the tests put an order.
const HOUR: Duration = Duration::from_secs(3_600);

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
async fn the_same_idempotency_key_with_a_different_order_is_a_409() {
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
    assert_eq!(second.status(), 409);
    let error: Value = second.json().await.expect("a JSON error");
    assert_eq!(error["error"], "conflict");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("Idempotency-Key"),
        "{error}"
    );
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

/// The retention the service runs with.
fn retention(app: &TestApp) -> Duration {
    app.settings.service.idempotency_key_retention()
}

#[tokio::test]
async fn a_key_used_within_its_retention_still_answers_the_first_order() {
    let app = spawn_app().await;
    let (first, _) = accepted(app.post_order_with_key("checkout-44").await).await;
    app.age_order(first, retention(&app) - HOUR).await;

    key_retention::forget(&app.pool, retention(&app))
        .await
        .expect("a round of forgetting");
    let (retried, replayed) = accepted(app.post_order_with_key("checkout-44").await).await;

    assert_eq!(retried, first);
    assert!(replayed, "the retry was not answered as a replay");
    assert_eq!(app.order_count().await, 1);
    app.cleanup().await;
}

#[tokio::test]
async fn after_its_retention_a_key_places_a_new_order_and_the_first_order_is_kept() {
    let app = spawn_app().await;
    let (first, _) = accepted(app.post_order_with_key("checkout-45").await).await;
    app.age_order(first, retention(&app) + HOUR).await;

    key_retention::forget(&app.pool, retention(&app))
        .await
        .expect("a round of forgetting");
    let (second, replayed) = accepted(app.post_order_with_key("checkout-45").await).await;

    assert_ne!(second, first);
    assert!(!replayed, "a forgotten key was answered as a replay");
    assert_eq!(app.order_count().await, 2);
    assert_eq!(app.staged("order.v2.submit").await, 2);
    let kept = app.order(first, "").await;
    assert_eq!(kept["id"], first.to_string());
    assert_eq!(kept["lines"].as_array().map(Vec::len), Some(2));
    assert_eq!(kept["history"][0]["status"], "pending");
    // The key now names the new order.
    let (retried, replayed) = accepted(app.post_order_with_key("checkout-45").await).await;
    assert_eq!(retried, second);
    assert!(replayed);
    app.cleanup().await;
}

#[tokio::test]
async fn forgetting_leaves_the_keys_within_their_retention_alone() {
    let app = spawn_app().await;
    let (old, _) = accepted(app.post_order_with_key("old-checkout").await).await;
    let (recent, _) = accepted(app.post_order_with_key("recent-checkout").await).await;
    let (unkeyed, _) = accepted(app.post_order(&order_body()).await).await;
    app.age_order(old, retention(&app) + HOUR).await;

    key_retention::forget(&app.pool, retention(&app))
        .await
        .expect("a round of forgetting");

    assert_eq!(app.idempotency_key_of(old).await, None);
    assert_eq!(
        app.idempotency_key_of(recent).await.as_deref(),
        Some("recent-checkout")
    );
    assert_eq!(app.idempotency_key_of(unkeyed).await, None);
    let (retried, replayed) = accepted(app.post_order_with_key("recent-checkout").await).await;
    assert_eq!(retried, recent);
    assert!(replayed);
    app.cleanup().await;
}

#[tokio::test]
async fn keys_are_forgotten_in_batches_the_oldest_first() {
    let app = spawn_app().await;
    let mut orders = Vec::new();
    for (key, hours) in [("a", 4), ("b", 2), ("c", 3)] {
        let (id, _) = accepted(app.post_order_with_key(key).await).await;
        app.age_order(id, HOUR * hours).await;
        orders.push(id);
    }
    let [four_hours_old, two_hours_old, three_hours_old] = orders[..] else {
        unreachable!("three orders")
    };
    // A retention of an hour, far below the service's own: its loop leaves these keys alone,
    // so every key forgotten here is forgotten by these calls.
    assert!(HOUR * 4 < retention(&app));

    let first = forget_idempotency_keys(&app.pool, HOUR, 2).await;
    assert_eq!(first.expect("a first batch"), 2);
    assert_eq!(app.idempotency_key_of(four_hours_old).await, None);
    assert_eq!(app.idempotency_key_of(three_hours_old).await, None);
    assert_eq!(
        app.idempotency_key_of(two_hours_old).await.as_deref(),
        Some("b")
    );
    let second = forget_idempotency_keys(&app.pool, HOUR, 2).await;
    assert_eq!(second.expect("a second batch"), 1);
    let third = forget_idempotency_keys(&app.pool, HOUR, 2).await;
    assert_eq!(third.expect("a third batch"), 0);
    app.cleanup().await;
}

#[tokio::test]
async fn the_same_key_used_by_two_customers_places_two_orders() {
    let app = spawn_app().await;
    let (alice, bob) = (app.tokens().customer("alice"), app.tokens().customer("bob"));

    let (alices, _) = accepted(
        app.post_order_as(&alice, &own_order_body(), "checkout-1")
            .await,
    )
    .await;
    let (bobs, replayed) = accepted(
        app.post_order_as(&bob, &own_order_body(), "checkout-1")
            .await,
    )
    .await;

    assert_ne!(alices, bobs);
    assert!(!replayed, "bob's order was answered with alice's");
    assert_eq!(app.order(alices, "").await["customer_id"], "alice");
    assert_eq!(app.order(bobs, "").await["customer_id"], "bob");
    assert_eq!(app.order_count().await, 2);
    assert_eq!(app.staged("order.v2.submit").await, 2);
    app.cleanup().await;
}

#[tokio::test]
async fn the_same_customer_with_the_same_key_gets_the_same_order_replayed() {
    let app = spawn_app().await;
    let alice = app.tokens().customer("alice");

    let (first, _) = accepted(
        app.post_order_as(&alice, &own_order_body(), "checkout-2")
            .await,
    )
    .await;
    let (retried, replayed) = accepted(
        app.post_order_as(&alice, &own_order_body(), "checkout-2")
            .await,
    )
    .await;
    // Staff ordering for alice with her key: her key, her order.
    let (by_staff, by_staff_replayed) = accepted(app.post_order_with_key("checkout-2").await).await;

    assert_eq!(retried, first);
    assert!(replayed);
    assert_eq!(by_staff, first);
    assert!(by_staff_replayed);
    assert_eq!(app.order_count().await, 1);
    assert_eq!(app.staged("order.v2.submit").await, 1);
    app.cleanup().await;
}

#[tokio::test]
async fn a_retry_with_the_prices_first_shown_is_a_replay_after_the_catalog_changed() {
    let app = spawn_app().await;
    let (first, _) = accepted(app.post_order_with_key("checkout-3").await).await;
    app.put_products(&[("SKU-1", 2499)]).await;

    // The retry states the prices of the first answer, no longer the catalog's: it is the order
    // placed then, not a stale price.
    let (retried, replayed) = accepted(app.post_order_with_key("checkout-3").await).await;
    // Without prices, it matches whatever the order was priced at.
    let mut unpriced = order_body();
    for line in unpriced["lines"].as_array_mut().expect("lines") {
        line.as_object_mut()
            .expect("a line")
            .remove("unit_price_cents");
    }
    let unpriced = app
        .post_orders()
        .header("Idempotency-Key", "checkout-3")
        .json(&unpriced)
        .send()
        .await
        .expect("POST");
    let (unpriced, unpriced_replayed) = accepted(unpriced).await;

    assert_eq!((retried, replayed), (first, true));
    assert_eq!((unpriced, unpriced_replayed), (first, true));
    assert_eq!(
        app.order(first, "").await["lines"][0]["unit_price_cents"],
        1999
    );
    assert_eq!(app.order_count().await, 1);
    app.cleanup().await;
}

#[tokio::test]
async fn a_retry_stating_other_prices_than_the_order_was_placed_at_is_a_409() {
    let app = spawn_app().await;
    let (_, _) = accepted(app.post_order_with_key("checkout-4").await).await;
    let mut other = order_body();
    other["lines"][1]["unit_price_cents"] = 450.into();

    let response = app
        .post_orders()
        .header("Idempotency-Key", "checkout-4")
        .json(&other)
        .send()
        .await
        .expect("POST");

    assert_eq!(response.status(), 409);
    let error: Value = response.json().await.expect("a JSON error");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("Idempotency-Key"),
        "{error}"
    );
    assert_eq!(app.order_count().await, 1);
    app.cleanup().await;
}
