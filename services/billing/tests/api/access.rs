//! Who may call billing: a valid bearer token for every endpoint, staff to set a credit limit,
//! and a customer reads only their own account.

use serde_json::{Value, json};
use service_kit::auth::issuer::now_secs;
use service_kit::auth::{Claims, SigningKeyPair, TokenIssuer};

use crate::helpers::{TestApp, spawn_app};

/// Tokens the service must refuse with a 401, each with what is wrong with it: signed by a key
/// the service does not trust, expired beyond the 30 s leeway, and meant for another audience.
fn refused_tokens(app: &TestApp) -> Vec<(&'static str, String)> {
    let foreign = SigningKeyPair::generate().expect("a key pair");
    let issuer = app.tokens();
    let foreign = TokenIssuer::new(&foreign.private_pem, issuer.issuer(), issuer.audience())
        .expect("an issuer for the foreign key");
    let now = now_secs();
    let expired = issuer.sign(&Claims {
        sub: "test-staff".into(),
        iss: issuer.issuer().into(),
        aud: issuer.audience().into(),
        exp: now - 120,
        iat: now - 3_720,
        nbf: None,
        roles: vec!["staff".into()],
    });
    vec![
        ("bad signature", foreign.staff("test-staff")),
        ("expired", expired),
        (
            "wrong audience",
            issuer.for_audience("other").staff("test-staff"),
        ),
    ]
}

/// `response` is a 401 with the JSON error body and a bearer challenge.
async fn assert_unauthorized(response: reqwest::Response, case: &str) {
    assert_eq!(response.status(), 401, "{case}");
    let challenge = response.headers()["www-authenticate"]
        .to_str()
        .expect("a printable challenge");
    assert!(challenge.starts_with("Bearer"), "{case}: {challenge}");
    let body: Value = response.json().await.expect("a JSON error body");
    assert_eq!(body["error"], "unauthorized", "{case}");
    assert!(body["message"].is_string(), "{case}");
}

/// `response` is a 403 with the JSON error body.
async fn assert_forbidden(response: reqwest::Response) {
    assert_eq!(response.status(), 403);
    let body: Value = response.json().await.expect("a JSON error body");
    assert_eq!(body["error"], "forbidden");
}

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

    for (case, token) in refused_tokens(&app) {
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
