//! Who may call the mailer: `GET /emails` crosses every customer's mail, so it takes a staff
//! token.

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
async fn get_emails_without_a_token_returns_a_401_with_a_bearer_challenge() {
    let app = spawn_app().await;

    let response = app.client.get(app.url("/emails")).send().await;

    assert_unauthorized(response.expect("GET answered"), "GET without a token").await;
    app.cleanup().await;
}

#[tokio::test]
async fn a_token_with_a_bad_signature_or_expired_or_for_another_audience_returns_a_401() {
    let app = spawn_app().await;

    for (case, token) in refused_tokens(&app) {
        let response = app.get_as(&token, "/emails").await;
        assert_unauthorized(response, case).await;
    }
    app.cleanup().await;
}

#[tokio::test]
async fn a_customer_cannot_list_the_emails() {
    let app = spawn_app().await;
    let alice = app.tokens().customer("alice");

    assert_forbidden(app.get_as(&alice, "/emails").await).await;
    app.cleanup().await;
}

#[tokio::test]
async fn the_document_says_listing_the_emails_needs_a_staff_token() {
    let app = spawn_app().await;

    let document = app.get_json("/openapi.json").await;

    let list = &document["paths"]["/emails"]["get"];
    assert_eq!(list["security"], json!([{"bearer": []}]));
    let description = list["description"].as_str().unwrap_or_default();
    assert!(description.contains("Staff only."), "{description}");
    for status in ["400", "401", "403"] {
        assert!(list["responses"][status].is_object(), "{status}");
    }
    let order_id = &list["parameters"][0];
    assert_eq!(order_id["name"], "order_id");
    assert_eq!(order_id["required"], false);
    assert_eq!(order_id["schema"]["format"], "uuid", "{order_id}");
    app.cleanup().await;
}
