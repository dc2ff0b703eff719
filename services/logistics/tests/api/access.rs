//! Who may call logistics: a valid bearer token for every endpoint, staff to count stock, and
//! anyone signed in, customer or staff, to read it.

use serde_json::{Value, json};
use service_kit::testing::access::{assert_forbidden, assert_unauthorized, refused_tokens};

use crate::helpers::{DEFAULT_STOCK, spawn_app};

#[tokio::test]
async fn every_endpoint_without_a_token_returns_a_401_with_a_bearer_challenge() {
    let app = spawn_app().await;

    let get = app.client.get(app.url("/stock/BOOK-1")).send().await;
    let put = app
        .client
        .put(app.url("/stock/BOOK-1"))
        .json(&json!({"on_hand": 7}))
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
        let response = app.get_as(&token, "/stock/BOOK-1").await;
        assert_unauthorized(response, case).await;
    }
    app.cleanup().await;
}

#[tokio::test]
async fn a_customer_cannot_count_stock() {
    let app = spawn_app().await;
    let alice = app.tokens().customer("alice");

    let response = app
        .put_as(&alice, "/stock/BOOK-1", &json!({"on_hand": 7}))
        .await;

    assert_forbidden(response).await;
    assert_eq!(app.stock("BOOK-1").await["on_hand"], DEFAULT_STOCK);
    app.cleanup().await;
}

#[tokio::test]
async fn a_customer_reads_the_stock() {
    let app = spawn_app().await;
    let alice = app.tokens().customer("alice");

    let response = app.get_as(&alice, "/stock/BOOK-1").await;

    assert_eq!(response.status(), 200);
    assert_eq!(
        response.json::<Value>().await.expect("a JSON body"),
        json!({"sku": "BOOK-1", "on_hand": DEFAULT_STOCK, "reserved": 0})
    );
    app.cleanup().await;
}

#[tokio::test]
async fn the_document_says_every_operation_needs_a_bearer_token_and_who_may_call_it() {
    let app = spawn_app().await;

    let document = app.get_json("/openapi.json").await;

    let stock = &document["paths"]["/stock/{sku}"];
    for (method, role) in [
        ("get", "Any authenticated caller, customer or staff."),
        ("put", "Staff only."),
    ] {
        let operation = &stock[method];
        assert_eq!(operation["security"], json!([{"bearer": []}]), "{method}");
        let description = operation["description"].as_str().unwrap_or_default();
        assert!(description.contains(role), "{method}: {description}");
        for status in ["401", "403", "422"] {
            assert!(
                operation["responses"][status].is_object(),
                "{method} {status}"
            );
        }
        let sku = &operation["parameters"][0]["schema"];
        assert_eq!(
            (sku["minLength"].clone(), sku["maxLength"].clone()),
            (json!(1), json!(100))
        );
    }
    let count = &document["components"]["schemas"]["OnHandBody"];
    assert_eq!(count["required"], json!(["on_hand"]));
    assert_eq!(count["properties"]["on_hand"]["minimum"], 0);
    assert_eq!(count["properties"]["on_hand"]["maximum"], i32::MAX);
    app.cleanup().await;
}
