//! The catalog staff keep, and the prices it gives every order: what is stored, announced and
//! charged is the catalog's price; a stale stated price or an unknown SKU orders nothing.

use serde_json::{Value, json};

use crate::helpers::{TestApp, order_body, spawn_app};

/// `PUT /products/{sku}` as staff: the status and the JSON body.
async fn put_product(app: &TestApp, sku: &str, body: Value) -> (u16, Value) {
    let response = app.put(&format!("/products/{sku}"), &body).await;
    let status = response.status().as_u16();
    (status, response.json().await.expect("a JSON body"))
}

/// The SKUs of one page of `GET /products{query}`, and its `next_after`.
async fn page(app: &TestApp, query: &str) -> (Vec<String>, Value) {
    let page = app.get_json(&format!("/products{query}")).await;
    let skus = page["products"]
        .as_array()
        .expect("a list of products")
        .iter()
        .map(|product| product["sku"].as_str().expect("a SKU").to_owned())
        .collect();
    (skus, page["next_after"].clone())
}

#[tokio::test]
async fn a_product_put_by_staff_is_created_then_changed_and_read_back() {
    let app = spawn_app().await;

    let (created, body) = put_product(
        &app,
        "PEN-7",
        json!({"name": "Fountain pen", "unit_price_cents": 2500}),
    )
    .await;
    assert_eq!(created, 201, "{body}");
    assert_eq!(body["sku"], "PEN-7");
    assert_eq!(body["name"], "Fountain pen");
    assert_eq!(body["unit_price_cents"], 2500);
    assert_eq!(body["currency"], "EUR");

    let (changed, body) = put_product(
        &app,
        "PEN-7",
        json!({"name": "Fountain pen, blue", "unit_price_cents": 2700}),
    )
    .await;
    assert_eq!(changed, 200, "{body}");
    assert_eq!(body["unit_price_cents"], 2700);

    let read = app.get_json("/products/PEN-7").await;
    assert_eq!(read["name"], "Fountain pen, blue");
    assert_eq!(read["unit_price_cents"], 2700);
    assert_eq!(read["created_at"], body["created_at"]);
    let unknown = app.get("/products/PEN-8").await;
    assert_eq!(unknown.status(), 404);
    let unknown: Value = unknown.json().await.expect("a JSON error");
    assert_eq!(unknown["error"], "not_found");
    app.cleanup().await;
}

#[tokio::test]
async fn the_catalog_is_listed_by_sku_a_page_at_a_time() {
    let app = spawn_app().await;
    app.put_products(&[("B-2", 200), ("A-1", 100), ("C-3", 300), ("a-4", 400)])
        .await;

    let (all, last) = page(&app, "").await;
    let (first, next) = page(&app, "?limit=2").await;
    let (second, next_again) = page(
        &app,
        &format!("?limit=2&after={}", next.as_str().unwrap_or("")),
    )
    .await;

    // By code point: capitals before lower case, whatever the database's locale.
    assert_eq!(all, ["A-1", "B-2", "C-3", "SKU-1", "SKU-2", "a-4"]);
    assert_eq!(last, Value::Null);
    assert_eq!(first, ["A-1", "B-2"]);
    assert_eq!(next, "B-2");
    assert_eq!(second, ["C-3", "SKU-1"]);
    assert_eq!(next_again, "SKU-1");
    app.cleanup().await;
}

#[tokio::test]
async fn a_product_that_breaks_a_rule_is_refused_naming_the_field_and_nothing_is_stored() {
    let app = spawn_app().await;
    let cases = [
        ("X", json!({"name": "", "unit_price_cents": 1}), "name"),
        ("X", json!({"name": "   ", "unit_price_cents": 1}), "name"),
        (
            "X",
            json!({"name": "n".repeat(201), "unit_price_cents": 1}),
            "name",
        ),
        (
            "X",
            json!({"name": "Pen", "unit_price_cents": 0}),
            "unit_price_cents",
        ),
        (
            "X",
            json!({"name": "Pen", "unit_price_cents": -5}),
            "unit_price_cents",
        ),
        (
            "X",
            json!({"name": "Pen", "unit_price_cents": 100_000_001}),
            "unit_price_cents",
        ),
        (
            &"s".repeat(101),
            json!({"name": "Pen", "unit_price_cents": 1}),
            "sku",
        ),
        ("%20", json!({"name": "Pen", "unit_price_cents": 1}), "sku"),
    ];
    let mut failures = Vec::new();

    for (sku, body, field) in cases {
        let (status, answer) = put_product(&app, sku, body.clone()).await;
        if status != 422 || answer["field"] != field {
            failures.push(format!(
                "{sku} {body}: expected 422 naming {field}, got {status} {answer}"
            ));
        }
    }
    let (status, answer) =
        put_product(&app, "X", json!({"name": "Pen", "unit_price_cents": 19.99})).await;
    if status != 400
        || !answer["message"]
            .as_str()
            .unwrap_or_default()
            .contains("unit_price_cents")
    {
        failures.push(format!(
            "a fractional price: expected 400 naming it, got {status} {answer}"
        ));
    }

    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    let (skus, _) = page(&app, "").await;
    assert_eq!(skus, ["SKU-1", "SKU-2"]);
    app.cleanup().await;
}

#[tokio::test]
async fn an_order_is_stored_and_announced_at_the_catalogs_prices() {
    let app = spawn_app().await;
    let submits = app.probe("order.*.*").await;
    app.put_products(&[("SKU-1", 2499)]).await;
    let mut unpriced = order_body();
    for line in unpriced["lines"].as_array_mut().expect("lines") {
        line.as_object_mut()
            .expect("a line")
            .remove("unit_price_cents");
    }

    let response = app.post_order(&unpriced).await;

    assert_eq!(response.status(), 202);
    let order: Value = response.json().await.expect("an order as JSON");
    let expected_lines = json!([
        {"sku": "SKU-1", "quantity": 2, "unit_price_cents": 2499},
        {"sku": "SKU-2", "quantity": 1, "unit_price_cents": 500}
    ]);
    assert_eq!(order["lines"], expected_lines);
    assert_eq!(order["total_cents"], 2 * 2499 + 500);
    let id = order["id"].as_str().expect("an id");
    let stored: Vec<(String, i64)> = sqlx::query_as(
        "SELECT sku, unit_price_cents FROM order_lines WHERE order_id = $1::uuid ORDER BY position",
    )
    .bind(id)
    .fetch_all(&app.pool)
    .await
    .expect("the stored lines");
    assert_eq!(
        stored,
        [("SKU-1".to_owned(), 2499), ("SKU-2".to_owned(), 500)]
    );
    let submitted = submits.next().await;
    assert_eq!(submitted.routing_key, "order.v2.submit");
    assert_eq!(submitted.payload["order_id"], id);
    assert_eq!(submitted.payload["lines"], expected_lines);
    assert_eq!(submitted.payload["total_cents"], 2 * 2499 + 500);
    assert_eq!(submitted.payload["currency"], "EUR");
    app.cleanup().await;
}

#[tokio::test]
async fn a_stated_price_that_is_not_the_catalogs_is_a_409_naming_the_line_and_the_price() {
    let app = spawn_app().await;
    let published = app.probe("order.*.*").await;
    app.put_products(&[("SKU-2", 650)]).await;

    // order_body states 500 for SKU-2, the price before the change.
    let response = app.post_order(&order_body()).await;

    assert_eq!(response.status(), 409);
    let body: Value = response.json().await.expect("a JSON error");
    assert_eq!(body["error"], "conflict");
    let message = body["message"].as_str().expect("a message");
    assert!(message.contains("lines[1]"), "{message}");
    assert!(message.contains("650"), "{message}");
    assert!(!message.contains("lines[0]"), "{message}");
    assert_eq!(app.order_count().await, 0);
    let lines: i64 = sqlx::query_scalar("SELECT count(*) FROM order_lines")
        .fetch_one(&app.pool)
        .await
        .expect("count the lines");
    assert_eq!(lines, 0);
    assert_eq!(app.staged("order.v2.submit").await, 0);
    app.outbox_flushed().await;
    assert_eq!(published.waiting().await, 0, "something was published");
    app.cleanup().await;
}

#[tokio::test]
async fn a_sku_not_in_the_catalog_is_a_422_naming_its_line() {
    let app = spawn_app().await;
    let mut body = order_body();
    body["lines"][1]["sku"] = "SKU-404".into();

    let response = app.post_order(&body).await;

    assert_eq!(response.status(), 422);
    let error: Value = response.json().await.expect("a JSON error");
    assert_eq!(error["field"], "lines[1].sku");
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|message| message.contains("SKU-404")),
        "{error}"
    );
    assert_eq!(app.order_count().await, 0);
    assert_eq!(app.staged("order.v2.submit").await, 0);
    app.cleanup().await;
}

#[tokio::test]
async fn the_catalogs_currency_is_the_shops_setting() {
    let app =
        crate::helpers::spawn_app_with(|settings| settings.service.currency = "CHF".into()).await;
    let mut in_chf = order_body();
    in_chf["currency"] = "CHF".into();
    let mut unnamed = order_body();
    unnamed
        .as_object_mut()
        .expect("an object")
        .remove("currency");

    let product = app.get_json("/products/SKU-1").await;
    let in_eur = app.post_order(&order_body()).await;
    let in_chf = app.post_order(&in_chf).await;
    let unnamed = app.post_order(&unnamed).await;

    assert_eq!(product["currency"], "CHF");
    assert_eq!(in_eur.status(), 422);
    let error: Value = in_eur.json().await.expect("a JSON error");
    assert_eq!(error["field"], "currency");
    assert_eq!(in_chf.status(), 202);
    assert_eq!(unnamed.status(), 202);
    let order: Value = unnamed.json().await.expect("an order as JSON");
    assert_eq!(order["currency"], "CHF");
    app.cleanup().await;
}
