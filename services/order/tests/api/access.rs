//! Who may do what: every route needs a token; a customer orders for themselves and reads only
//! their own orders; staff keep the catalog, order on behalf of customers, read every order and
//! list the stalled ones.

use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, order_body, own_order_body, spawn_app};

/// Every route of the order service, with a body where it takes one.
fn routes(order: Uuid) -> Vec<(Method, String, Option<Value>)> {
    vec![
        (Method::POST, "/orders".into(), Some(order_body())),
        (Method::GET, format!("/orders/{order}"), None),
        (Method::GET, format!("/orders/{order}?wait=5"), None),
        (Method::GET, "/orders?stalled=true".into(), None),
        (
            Method::PUT,
            "/products/SKU-1".into(),
            Some(json!({"name": "Cheap", "unit_price_cents": 1})),
        ),
        (Method::GET, "/products".into(), None),
        (Method::GET, "/products/SKU-1".into(), None),
    ]
}

/// `method path` with `body`, and the bearer `token` if any.
async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    body: Option<&Value>,
    token: Option<&str>,
) -> reqwest::Response {
    let mut request = app.client.request(method, app.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(body);
    }
    request.send().await.expect("the request is answered")
}

/// The status, the `WWW-Authenticate` header and the JSON body of `response`.
async fn refusal(response: reqwest::Response) -> (u16, Option<String>, Value) {
    let status = response.status().as_u16();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let body = response.json().await.unwrap_or(Value::Null);
    (status, challenge, body)
}

#[tokio::test]
async fn every_route_without_a_token_is_a_json_401_with_a_challenge_and_changes_nothing() {
    let app = spawn_app().await;
    let order = app.submit_order().await;
    let foreign = app.tokens().for_audience("another-shop").customer("alice");
    let mut failures = Vec::new();

    for (method, path, body) in routes(order) {
        for (what, token) in [
            ("no token", None),
            ("a token for another audience", Some(foreign.as_str())),
        ] {
            let response = send(&app, method.clone(), &path, body.as_ref(), token).await;
            let (status, challenge, body) = refusal(response).await;
            let challenged = challenge.is_some_and(|value| value.starts_with("Bearer"));
            if status != 401 || !challenged || body["error"] != "unauthorized" {
                failures.push(format!("{method} {path} with {what}: {status} {body}"));
            }
        }
    }

    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    assert_eq!(
        app.order_count().await,
        1,
        "an unauthenticated POST placed an order"
    );
    let product = app.get_json("/products/SKU-1").await;
    assert_eq!(
        product["unit_price_cents"], 1999,
        "an unauthenticated PUT changed a price"
    );
    app.cleanup().await;
}

#[tokio::test]
async fn a_customer_is_refused_the_staff_routes_with_a_json_403() {
    let app = spawn_app().await;
    let alice = app.tokens().customer("alice");

    let put = app
        .put_as(
            &alice,
            "/products/SKU-1",
            &json!({"name": "Cheap", "unit_price_cents": 1}),
        )
        .await;
    let stalled = app.get_as(&alice, "/orders?stalled=true").await;

    for (what, response) in [
        ("PUT /products/SKU-1", put),
        ("GET /orders?stalled=true", stalled),
    ] {
        let (status, _, body) = refusal(response).await;
        assert_eq!(status, 403, "{what}: {body}");
        assert_eq!(body["error"], "forbidden", "{what}");
    }
    let product = app.get_json("/products/SKU-1").await;
    assert_eq!(product["unit_price_cents"], 1999);
    assert_eq!(product["name"], "Product SKU-1");
    app.cleanup().await;
}

#[tokio::test]
async fn a_customer_may_read_the_catalog() {
    let app = spawn_app().await;
    let alice = app.tokens().customer("alice");

    let list = app.get_as(&alice, "/products").await;
    let one = app.get_as(&alice, "/products/SKU-2").await;

    assert_eq!(list.status(), 200);
    let list: Value = list.json().await.expect("a JSON page");
    assert_eq!(list["products"].as_array().map(Vec::len), Some(2));
    assert_eq!(one.status(), 200);
    let one: Value = one.json().await.expect("a JSON product");
    assert_eq!(one["unit_price_cents"], 500);
    app.cleanup().await;
}

#[tokio::test]
async fn a_customer_ordering_for_another_customer_is_refused_with_a_403_and_nothing_is_stored() {
    let app = spawn_app().await;
    let mallory = app.tokens().customer("mallory");
    let mut for_alice = own_order_body();
    for_alice["customer_id"] = "alice".into();

    let response = app.post_as(&mallory, "/orders", &for_alice).await;

    let (status, _, body) = refusal(response).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"], "forbidden");
    let message = body["message"].as_str().expect("a message");
    assert!(
        message.contains("mallory") && message.contains("alice"),
        "{message}"
    );
    assert_eq!(app.order_count().await, 0);
    assert_eq!(app.staged("order.v2.submit").await, 0);
    app.cleanup().await;
}

#[tokio::test]
async fn a_customer_orders_for_themselves_with_or_without_naming_themselves() {
    let app = spawn_app().await;
    let submits = app.probe("order.*.submit").await;
    let carol = app.tokens().customer("carol");
    let mut naming_herself = own_order_body();
    naming_herself["customer_id"] = "carol".into();

    let unnamed = app.post_as(&carol, "/orders", &own_order_body()).await;
    let named = app.post_as(&carol, "/orders", &naming_herself).await;

    for response in [unnamed, named] {
        assert_eq!(response.status(), 202);
        let order: Value = response.json().await.expect("an order as JSON");
        assert_eq!(order["customer_id"], "carol");
        let id: Uuid = order["id"]
            .as_str()
            .and_then(|id| id.parse().ok())
            .expect("an id");
        assert_eq!(app.order(id, "").await["customer_id"], "carol");
        let submitted = submits.next().await;
        assert_eq!(submitted.payload["order_id"], id.to_string());
        assert_eq!(submitted.payload["customer_id"], "carol");
    }
    let stored: Vec<String> = sqlx::query_scalar("SELECT customer_id FROM orders")
        .fetch_all(&app.pool)
        .await
        .expect("the stored orders' customers");
    assert_eq!(stored, ["carol", "carol"]);
    app.cleanup().await;
}

#[tokio::test]
async fn staff_ordering_without_naming_the_customer_get_a_422_naming_customer_id() {
    let app = spawn_app().await;

    let response = app.post_order(&own_order_body()).await;

    assert_eq!(response.status(), 422);
    let body: Value = response.json().await.expect("a JSON error");
    assert_eq!(body["field"], "customer_id");
    assert_eq!(app.order_count().await, 0);
    app.cleanup().await;
}

/// The status and body of `GET path` with `token`, with `id` replaced by `{id}` in the body.
async fn answer(app: &TestApp, token: &str, path: &str, id: Uuid) -> (u16, String, String) {
    let response = app.get_as(token, path).await;
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = response.text().await.expect("a body");
    (status, content_type, body.replace(&id.to_string(), "{id}"))
}

#[tokio::test]
async fn another_customers_order_is_answered_exactly_as_an_order_that_does_not_exist() {
    let app = spawn_app().await;
    let alice = app.tokens().customer("alice");
    let mallory = app.tokens().customer("mallory");
    let order = app.submit_order().await;
    let nowhere = Uuid::now_v7();

    for query in ["", "?wait=5"] {
        let (status, content_type, body) =
            answer(&app, &mallory, &format!("/orders/{order}{query}"), order).await;
        let missing = answer(
            &app,
            &mallory,
            &format!("/orders/{nowhere}{query}"),
            nowhere,
        )
        .await;

        assert_eq!(status, 404, "{body}");
        assert_eq!((status, content_type, body), missing, "query {query:?}");
    }
    let owners = app.get_as(&alice, &format!("/orders/{order}")).await;
    assert_eq!(owners.status(), 200);
    let owners: Value = owners.json().await.expect("an order as JSON");
    assert_eq!(owners["id"], order.to_string());
    assert_eq!(
        app.order(order, "").await["id"],
        order.to_string(),
        "staff read it"
    );
    app.cleanup().await;
}
