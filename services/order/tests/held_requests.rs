//! The bound on one customer's held `GET /orders/{id}?wait=` requests, in a test binary of its
//! own: the test knows the first request is held from the `orders_held_requests` gauge, and the
//! metrics recorder is one per process (in `tests/api`, other tests' held requests would move
//! the same gauge).

#[allow(dead_code)]
#[path = "api/helpers.rs"]
mod helpers;

use contracts::billing::PaymentCharged;
use contracts::logistics::StockReserved;
use serde_json::Value;
use service_kit::testing::eventually;

use crate::helpers::{ORDER_TOTAL, TestApp, accepted, own_order_body, spawn_app_with};

/// The gauge of held requests on `GET /metrics`, once it has been set.
async fn held(app: &TestApp) -> Option<f64> {
    let metrics = app.get("/metrics").await.text().await.expect("a text body");
    metrics
        .lines()
        .find_map(|line| line.strip_prefix("orders_held_requests "))
        .and_then(|value| value.trim().parse().ok())
}

async fn held_reaches(app: &TestApp, value: f64) {
    eventually(format!("orders_held_requests at {value}"), || async {
        (held(app).await == Some(value)).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_customer_past_the_bound_on_held_requests_gets_a_429_while_the_first_is_held() {
    let app = spawn_app_with(|settings| settings.service.max_waiting_per_customer = 1).await;
    let carol = app.tokens().customer("carol");
    let (id, _) = accepted(app.post_order_as(&carol, &own_order_body(), "c-1").await).await;
    let path = format!("/orders/{id}?wait=30");
    let first = {
        let request = app.client.get(app.url(&path)).bearer_auth(&carol);
        tokio::spawn(async move { request.send().await.expect("the held request is answered") })
    };
    held_reaches(&app, 1.0).await;

    let second = app.get_as(&carol, &path).await;

    assert_eq!(second.status(), 429);
    assert_eq!(
        second
            .headers()
            .get("retry-after")
            .and_then(|value| value.to_str().ok()),
        Some("1")
    );
    let body: Value = second.json().await.expect("a JSON error body");
    assert_eq!(body["error"], "too_many_requests");
    assert!(!first.is_finished(), "the first request is no longer held");
    // Staff are not bounded: an operator watching the same order is held too.
    let staff = {
        let request = app
            .client
            .get(app.url(&path))
            .bearer_auth(app.staff_token());
        tokio::spawn(async move { request.send().await.expect("staff's held request") })
    };
    held_reaches(&app, 2.0).await;

    let charged = PaymentCharged {
        order_id: id,
        customer_id: "carol".into(),
        amount_cents: ORDER_TOTAL,
    };
    app.publish(&charged, id).await;
    let reserved = StockReserved {
        order_id: id,
        lines: Vec::new(),
    };
    app.publish(&reserved, id).await;

    for held_request in [first, staff] {
        let response = held_request.await.expect("the held request's task joins");
        assert_eq!(response.status(), 200);
        let order: Value = response.json().await.expect("an order as JSON");
        assert_eq!(order["status"], "confirmed");
    }
    // Answered, they gave their places back.
    held_reaches(&app, 0.0).await;
    app.cleanup().await;
}
