//! `GET` and `PUT /stock/{sku}`: counts, and the JSON errors of bad input.

use contracts::logistics::StockReserved;
use serde_json::{Value, json};

use crate::helpers::{DEFAULT_STOCK, TestApp, spawn_app, submitted};

async fn stock_rows(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM stock")
        .fetch_one(&app.pool)
        .await
        .expect("count stock rows")
}

#[tokio::test]
async fn an_unknown_sku_is_shown_with_the_default_stock_without_being_created() {
    let app = spawn_app().await;

    let stock = app.stock("NEW-1").await;

    assert_eq!(
        stock,
        json!({"sku": "NEW-1", "on_hand": DEFAULT_STOCK, "reserved": 0})
    );
    assert_eq!(stock_rows(&app).await, 0);
    app.cleanup().await;
}

#[tokio::test]
async fn put_sets_the_units_on_hand_and_answers_with_the_stock() {
    let app = spawn_app().await;

    let response = app.put_stock("BOOK-1", &json!({"on_hand": 7})).await;

    assert_eq!(response.status(), 200);
    let expected = json!({"sku": "BOOK-1", "on_hand": 7, "reserved": 0});
    assert_eq!(response.json::<Value>().await.unwrap(), expected);
    assert_eq!(app.stock("BOOK-1").await, expected);
    app.set_on_hand("BOOK-1", 0).await;
    assert_eq!(app.stock("BOOK-1").await["on_hand"], 0);
    app.cleanup().await;
}

#[tokio::test]
async fn put_below_the_reserved_units_returns_a_409_and_changes_nothing() {
    let app = spawn_app().await;
    let probe = app.probe("logistics.*.reserved").await;
    app.publish(&submitted(&[("BOOK-1", 5)])).await;
    let _: StockReserved = probe.next_event().await;

    let response = app.put_stock("BOOK-1", &json!({"on_hand": 4})).await;

    assert_eq!(response.status(), 409);
    let body: Value = response.json().await.expect("a JSON error body");
    assert_eq!(body["error"], "conflict");
    assert_eq!(
        app.stock("BOOK-1").await,
        json!({"sku": "BOOK-1", "on_hand": DEFAULT_STOCK, "reserved": 5})
    );
    let at_reserved = app.put_stock("BOOK-1", &json!({"on_hand": 5})).await;
    assert_eq!(at_reserved.status(), 200);
    app.cleanup().await;
}

#[tokio::test]
async fn put_with_a_negative_or_oversized_count_returns_a_422_naming_the_field() {
    let app = spawn_app().await;

    for on_hand in [-1_i64, i64::from(i32::MAX) + 1] {
        let response = app.put_stock("BOOK-1", &json!({"on_hand": on_hand})).await;
        assert_eq!(response.status(), 422, "{on_hand}");
        let body: Value = response.json().await.expect("a JSON error body");
        assert_eq!(body["error"], "validation");
        assert_eq!(body["field"], "on_hand");
    }
    assert_eq!(stock_rows(&app).await, 0);
    app.cleanup().await;
}

#[tokio::test]
async fn put_with_a_count_that_is_not_an_integer_returns_a_400_json_error() {
    let app = spawn_app().await;
    let cases = [
        (r#"{"on_hand": 1.5}"#, "a fraction"),
        (r#"{"on_hand": "7"}"#, "a string"),
        (r#"{"on_hand": null}"#, "null"),
        (r#"{}"#, "missing"),
        (r#"{"on_hand": "#, "truncated JSON"),
    ];

    for (body, case) in cases {
        let response = app.put_stock_raw("BOOK-1", body).await;
        assert_eq!(response.status(), 400, "{case}");
        let error: Value = response.json().await.expect("a JSON error body");
        assert_eq!(error["error"], "bad_request", "{case}");
    }
    assert_eq!(stock_rows(&app).await, 0);
    app.cleanup().await;
}

#[tokio::test]
async fn a_sku_longer_than_100_characters_returns_a_422_naming_the_sku() {
    let app = spawn_app().await;
    let long_sku = "x".repeat(101);

    let get = app.get_stock(&long_sku).await;
    let put = app.put_stock(&long_sku, &json!({"on_hand": 1})).await;

    for response in [get, put] {
        assert_eq!(response.status(), 422);
        let body: Value = response.json().await.expect("a JSON error body");
        assert_eq!(body["field"], "sku");
    }
    app.cleanup().await;
}
