//! Who may call loyalty: a customer reads their own points, staff anyone's, and nobody without
//! a valid bearer token.

use serde_json::{Value, json};
use service_kit::testing::access::{assert_forbidden, assert_unauthorized, refused_tokens};

use crate::helpers::spawn_app;

#[tokio::test]
async fn get_points_without_a_token_returns_a_401_with_a_bearer_challenge() {
    let app = spawn_app().await;

    let response = app.client.get(app.url("/points/c-42")).send().await;

    assert_unauthorized(response.expect("GET answered"), "GET without a token").await;
    app.cleanup().await;
}

#[tokio::test]
async fn a_token_with_a_bad_signature_or_expired_or_for_another_audience_returns_a_401() {
    let app = spawn_app().await;

    for (case, token) in refused_tokens() {
        let response = app.get_as(&token, "/points/c-42").await;
        assert_unauthorized(response, case).await;
    }
    app.cleanup().await;
}

#[tokio::test]
async fn a_customer_reads_their_own_points_but_not_another_customers() {
    let app = spawn_app().await;
    let alice = app.tokens().customer("alice");

    let own = app.get_as(&alice, "/points/alice").await;
    let other = app.get_as(&alice, "/points/bob").await;

    assert_eq!(own.status(), 200);
    assert_eq!(
        own.json::<Value>().await.expect("a JSON body"),
        json!({"customer_id": "alice", "points": 0, "orders": 0})
    );
    assert_forbidden(other).await;
    app.cleanup().await;
}

#[tokio::test]
async fn an_id_longer_than_100_characters_returns_a_422_naming_it() {
    let app = spawn_app().await;

    let (status, body) = app.get_points(&"x".repeat(101)).await;

    assert_eq!(status, 422);
    assert_eq!(body["field"], "customer_id");
    let (status, _) = app.get_points(&"x".repeat(100)).await;
    assert_eq!(status, 200);
    app.cleanup().await;
}

#[tokio::test]
async fn the_document_says_reading_points_needs_a_token_of_staff_or_the_customer() {
    let app = spawn_app().await;

    let document = app.get_json("/openapi.json").await;

    let points = &document["paths"]["/points/{customer_id}"]["get"];
    assert_eq!(points["security"], json!([{"bearer": []}]));
    let description = points["description"].as_str().unwrap_or_default();
    assert!(
        description.contains("Staff, or the customer themselves."),
        "{description}"
    );
    for status in ["200", "401", "403", "422"] {
        assert!(points["responses"][status].is_object(), "{status}");
    }
    let id = &points["parameters"][0]["schema"];
    assert_eq!(
        (id["minLength"].clone(), id["maxLength"].clone()),
        (json!(1), json!(100))
    );
    app.cleanup().await;
}
