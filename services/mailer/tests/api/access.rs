//! Who may call the mailer: `GET /emails` crosses every customer's mail, so it takes a staff
//! token.

use serde_json::json;
use service_kit::testing::access::{assert_forbidden, assert_unauthorized, refused_tokens};

use crate::helpers::spawn_app;

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

    for (case, token) in refused_tokens() {
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
