//! Who may call billing: a valid bearer token for every endpoint, staff to set a credit limit,
//! and a customer reads only their own account.

use serde_json::{Value, json};
use service_kit::testing::access::{assert_forbidden, assert_unauthorized, refused_tokens};

use crate::helpers::spawn_app;

#[tokio::test]
async fn every_endpoint_without_a_token_returns_a_401_with_a_bearer_challenge() {
    let app = spawn_app().await;

    let get = app.client.get(app.url("/customers/c-42")).send().await;
    let put = app
        .client
        .put(app.url("/customers/c-42"))
        .json(&json!({"credit_limit_cents": 5_000}))
        .send()
        .await;

    assert_unauthorized(get.expect("GET answered"), "GET without a token").await;
    assert_unauthorized(put.expect("PUT answered"), "PUT without a token").await;
    app.cleanup().await;
}

#[tokio::test]
async fn a_token_with_a_bad_signature_or_expired_or_for_another_audience_returns_a_401() {
    let app = spawn_app().await;

    for (case, token) in refused_tokens() {
        let response = app.get_as(&token, "/customers/c-42").await;
        assert_unauthorized(response, case).await;
    }
    app.cleanup().await;
}

#[tokio::test]
async fn a_customer_cannot_set_a_credit_limit_not_even_their_own() {
    let app = spawn_app().await;
    let alice = app.tokens().customer("alice");

    let response = app
        .put_as(
            &alice,
            "/customers/alice",
            &json!({"credit_limit_cents": 1_000_000}),
        )
        .await;

    assert_forbidden(response).await;
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM customers")
        .fetch_one(&app.pool)
        .await
        .expect("count customers");
    assert_eq!(rows, 0);
    app.cleanup().await;
}

#[tokio::test]
async fn a_customer_reads_their_own_account_but_not_another_customers() {
    let app = spawn_app().await;
    let alice = app.tokens().customer("alice");

    let own = app.get_as(&alice, "/customers/alice").await;
    let other = app.get_as(&alice, "/customers/bob").await;

    assert_eq!(own.status(), 200);
    assert_eq!(
        own.json::<Value>().await.expect("a JSON body")["id"],
        "alice"
    );
    assert_forbidden(other).await;
    app.cleanup().await;
}

#[tokio::test]
async fn the_document_says_every_operation_needs_a_bearer_token_and_who_may_call_it() {
    let app = spawn_app().await;

    let document = app.get_json("/openapi.json").await;

    let customer = &document["paths"]["/customers/{id}"];
    for (method, role) in [
        ("get", "Staff, or the customer themselves."),
        ("put", "Staff only."),
    ] {
        let operation = &customer[method];
        assert_eq!(operation["security"], json!([{"bearer": []}]), "{method}");
        let description = operation["description"].as_str().unwrap_or_default();
        assert!(description.contains(role), "{method}: {description}");
        for status in ["401", "403", "422"] {
            assert!(
                operation["responses"][status].is_object(),
                "{method} {status}"
            );
        }
        let id = &operation["parameters"][0]["schema"];
        assert_eq!(
            (id["minLength"].clone(), id["maxLength"].clone()),
            (json!(1), json!(100))
        );
    }
    let limit = &document["components"]["schemas"]["CreditLimitBody"];
    assert_eq!(limit["required"], json!(["credit_limit_cents"]));
    assert_eq!(limit["properties"]["credit_limit_cents"]["minimum"], 0);
    assert_eq!(
        limit["properties"]["credit_limit_cents"]["maximum"],
        json!(i64::MAX)
    );
    app.cleanup().await;
}
