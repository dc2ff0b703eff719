//! Who may call what, over real HTTP: every API with data is staff only (no token or a refused
//! one: 401 with a JSON body and `WWW-Authenticate`; a customer's token: 403; a staff token: the
//! answer as before), the page and its assets are open, and the OpenAPI document says so.

use contracts::billing::PaymentCharged;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{DeadLetter, FakeOrders, STAFF, TestApp, spawn_app, spawn_app_with, tokens};

/// Every route of the tracker with data: method, path, and the JSON body of a POST.
fn staff_routes(order_id: Uuid) -> Vec<(&'static str, String, Option<Value>)> {
    vec![
        ("GET", "/flows".into(), None),
        ("GET", format!("/flows/{order_id}"), None),
        ("GET", "/topology".into(), None),
        ("GET", "/stalled".into(), None),
        ("GET", "/dead-letters".into(), None),
        (
            "POST",
            "/dead-letters/replay".into(),
            Some(json!({"queue": "tracker", "all": true})),
        ),
    ]
}

/// Calls `method path` (with `body`) with `token`, or without any.
async fn call(
    app: &TestApp,
    token: Option<&str>,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> reqwest::Response {
    match (method, body) {
        ("POST", Some(body)) => app.post_as(token, path, body).await,
        ("GET", None) => app.get_as(token, path).await,
        _ => unreachable!("{method} {path}"),
    }
}

/// A tracker reading `orders` for its stalled orders, with one flow recorded; its order id.
async fn tracker_with_a_flow(orders: &FakeOrders) -> (TestApp, Uuid) {
    let url = orders.url.clone();
    let app = spawn_app_with(|settings| settings.service.orders.url = url).await;
    let order_id = Uuid::now_v7();
    let charged = PaymentCharged {
        order_id,
        customer_id: "c-42".into(),
        amount_cents: 2500,
    };
    app.publish("billing", &charged, order_id, None).await;
    app.flow_with(order_id, 1).await;
    (app, order_id)
}

#[tokio::test]
async fn every_api_without_a_token_is_a_401_with_a_json_body_and_a_bearer_challenge() {
    let orders = FakeOrders::start().await;
    let (app, order_id) = tracker_with_a_flow(&orders).await;

    for (method, path, body) in staff_routes(order_id) {
        for (token, refused) in [(None, false), (Some("not.a.token"), true)] {
            let response = call(&app, token, method, &path, body.as_ref()).await;
            let what = format!("{method} {path} with token {token:?}");
            assert_eq!(response.status(), 401, "{what}");
            let challenge = response.headers()["www-authenticate"]
                .to_str()
                .expect("a printable challenge")
                .to_owned();
            assert!(
                challenge.starts_with(r#"Bearer realm="shop""#),
                "{what}: {challenge}"
            );
            assert_eq!(
                challenge.contains(r#"error="invalid_token""#),
                refused,
                "{what}: {challenge}"
            );
            let answer: Value = response.json().await.expect("a JSON body");
            assert_eq!(answer["error"], "unauthorized", "{what}: {answer}");
            assert!(answer["message"].is_string(), "{what}: {answer}");
        }
    }
    // Refused before the order service was asked: nothing relayed.
    assert!(orders.authorizations().is_empty());
    assert!(app.tracker.audit_records().is_empty());
    app.cleanup().await;
    orders.stop().await;
}

#[tokio::test]
async fn every_api_refuses_a_customers_token_with_a_403() {
    let orders = FakeOrders::start().await;
    let (app, order_id) = tracker_with_a_flow(&orders).await;
    let customer = tokens().customer("c-42");

    for (method, path, body) in staff_routes(order_id) {
        let response = call(&app, Some(&customer), method, &path, body.as_ref()).await;
        assert_eq!(response.status(), 403, "{method} {path}");
        let answer: Value = response.json().await.expect("a JSON body");
        assert_eq!(answer["error"], "forbidden", "{method} {path}: {answer}");
    }
    assert!(orders.authorizations().is_empty());
    assert!(app.tracker.audit_records().is_empty());
    app.cleanup().await;
    orders.stop().await;
}

#[tokio::test]
async fn every_api_answers_a_staff_token_and_the_stalled_orders_are_asked_for_with_it() {
    let orders = FakeOrders::start().await;
    let (app, order_id) = tracker_with_a_flow(&orders).await;
    let staff = tokens().staff(STAFF);

    for (method, path, body) in staff_routes(order_id) {
        let response = call(&app, Some(&staff), method, &path, body.as_ref()).await;
        let status = response.status();
        let answer: Value = response.json().await.expect("a JSON body");
        assert_eq!(status, 200, "{method} {path}: {answer}");
    }
    // The tracker asked the order service with the caller's own token, not one of its own.
    assert_eq!(orders.authorizations(), [Some(format!("Bearer {staff}"))]);
    // The replay (of nothing) is recorded under the staff member's name.
    let records = app.tracker.audit_records();
    assert!(
        records
            .iter()
            .all(|record| record.operator.as_deref() == Some(STAFF)),
        "{records:?}"
    );
    app.cleanup().await;
    orders.stop().await;
}

#[tokio::test]
async fn a_replay_without_a_staff_token_is_refused_before_its_body_is_read_and_moves_nothing() {
    let app = spawn_app().await;
    let probe = app.probe().await;
    probe.declare("order.queue").await;
    probe.declare("order.queue.dead").await;
    event_bus::testing::declare_retry_path(&probe.channel, "order.queue").await;
    let letter = DeadLetter::charged("the ledger is closed");
    probe.park(&app.broker, "order.queue.dead", &letter).await;

    // Without a token, even a body that is not JSON is a 401, not a 400.
    let malformed = app
        .client
        .post(format!("{}/dead-letters/replay", app.tracker.address))
        .header("content-type", "application/json")
        .body(r#"{"queue": "#)
        .send()
        .await
        .expect("POST");
    assert_eq!(malformed.status(), 401);
    // A customer's valid request: 403.
    let choice = json!({"queue": "order", "ids": [letter.message_id]});
    let customer = tokens().customer("c-42");
    let refused = app
        .post_as(Some(&customer), "/dead-letters/replay", &choice)
        .await;
    assert_eq!(refused.status(), 403);

    // Still a dead letter; nothing recorded.
    let (status, listing) = app.get("/dead-letters").await;
    assert_eq!(status, 200, "{listing}");
    let order = listing["queues"]
        .as_array()
        .expect("queues")
        .iter()
        .find(|queue| queue["queue"] == "order.queue.dead")
        .expect("order.dead listed");
    assert_eq!(order["count"], 1, "{order}");
    assert!(app.tracker.audit_records().is_empty());
    app.cleanup().await;
}

#[tokio::test]
async fn the_page_and_its_assets_need_no_token() {
    let app = spawn_app().await;
    for path in ["/", "/assets/app.js", "/assets/style.css"] {
        let response = app.get_as(None, path).await;
        assert_eq!(response.status(), 200, "{path}");
    }
    app.cleanup().await;
}

#[tokio::test]
async fn the_openapi_document_marks_every_staff_operation_and_only_those() {
    let app = spawn_app().await;
    let (status, document) = app.get("/openapi.json").await;
    assert_eq!(status, 200);
    let paths = &document["paths"];
    for (method, path) in [
        ("get", "/flows"),
        ("get", "/flows/{order_id}"),
        ("get", "/topology"),
        ("get", "/stalled"),
        ("get", "/dead-letters"),
        ("post", "/dead-letters/replay"),
    ] {
        let operation = &paths[path][method];
        let what = format!("{method} {path}");
        assert_eq!(
            operation["security"],
            json!([{"bearer": []}]),
            "{what}: {operation}"
        );
        let description = operation["description"].as_str().unwrap_or_default();
        assert!(description.contains("Staff only."), "{what}: {operation}");
        for refusal in ["401", "403"] {
            let schema = &operation["responses"][refusal]["content"]["application/json"]["schema"];
            assert_eq!(
                schema["$ref"], "#/components/schemas/ErrorBody",
                "{what} {refusal}: {operation}"
            );
        }
    }
    for path in ["/", "/assets/{file}"] {
        let operation = &paths[path]["get"];
        assert!(operation["security"].is_null(), "{path}: {operation}");
    }
    app.cleanup().await;
}
