//! `GET` and `PUT /customers/{id}`: credit limits, and the JSON errors of bad input.

use serde_json::{Value, json};

use crate::helpers::{DEFAULT_CREDIT_CENTS, spawn_app};

async fn customer_rows(app: &crate::helpers::TestApp) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM customers")
        .fetch_one(&app.pool)
        .await
        .expect("count customers")
}

#[tokio::test]
async fn an_unknown_customer_is_shown_with_the_default_credit_without_being_created() {
    let app = spawn_app().await;

    let customer = app.customer("nobody-yet").await;

    assert_eq!(
        customer,
        json!({
            "id": "nobody-yet",
            "credit_limit_cents": DEFAULT_CREDIT_CENTS,
            "available_cents": DEFAULT_CREDIT_CENTS,
            "payments": [],
        })
    );
    assert_eq!(customer_rows(&app).await, 0);
    app.cleanup().await;
}

#[tokio::test]
async fn put_sets_the_credit_limit_and_answers_with_the_customer() {
    let app = spawn_app().await;

    let response = app
        .put_customer("c-42", &json!({"credit_limit_cents": 5_000}))
        .await;

    assert_eq!(response.status(), 200);
    let expected = json!({
        "id": "c-42",
        "credit_limit_cents": 5_000,
        "available_cents": 5_000,
        "payments": [],
    });
    assert_eq!(response.json::<Value>().await.unwrap(), expected);
    assert_eq!(app.customer("c-42").await, expected);
    let again = app
        .put_customer("c-42", &json!({"credit_limit_cents": 0}))
        .await;
    assert_eq!(again.status(), 200);
    assert_eq!(app.customer("c-42").await["credit_limit_cents"], 0);
    app.cleanup().await;
}

#[tokio::test]
async fn put_with_a_negative_limit_returns_a_422_naming_the_field() {
    let app = spawn_app().await;

    let response = app
        .put_customer("c-42", &json!({"credit_limit_cents": -1}))
        .await;

    assert_eq!(response.status(), 422);
    let body: Value = response.json().await.expect("a JSON error body");
    assert_eq!(body["error"], "validation");
    assert_eq!(body["field"], "credit_limit_cents");
    assert_eq!(customer_rows(&app).await, 0);
    app.cleanup().await;
}

#[tokio::test]
async fn put_with_a_limit_that_is_not_an_integer_returns_a_400_json_error() {
    let app = spawn_app().await;
    let cases = [
        (r#"{"credit_limit_cents": 10.5}"#, "a fraction"),
        (r#"{"credit_limit_cents": "1000"}"#, "a string"),
        (r#"{"credit_limit_cents": null}"#, "null"),
        (r#"{"credit_limit_cents": 1e400}"#, "out of range"),
        (r#"{}"#, "missing"),
        (r#"{"credit_limit_cents": "#, "truncated JSON"),
    ];

    for (body, case) in cases {
        let response = app.put_customer_raw("c-42", body).await;
        assert_eq!(response.status(), 400, "{case}");
        let error: Value = response.json().await.expect("a JSON error body");
        assert_eq!(error["error"], "bad_request", "{case}");
    }
    assert_eq!(customer_rows(&app).await, 0);
    app.cleanup().await;
}

#[tokio::test]
async fn an_id_longer_than_100_characters_returns_a_422_naming_the_id() {
    let app = spawn_app().await;
    let long_id = "x".repeat(101);

    let get = app.get_customer(&long_id).await;
    let put = app
        .put_customer(&long_id, &json!({"credit_limit_cents": 1}))
        .await;

    for response in [get, put] {
        assert_eq!(response.status(), 422);
        let body: Value = response.json().await.expect("a JSON error body");
        assert_eq!(body["field"], "id");
    }
    assert_eq!(app.customer(&"x".repeat(100)).await["id"], "x".repeat(100));
    app.cleanup().await;
}
