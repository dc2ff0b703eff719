//! Bearer tokens through a real kit server: a route taking `Identity`, one taking `Staff`, and
//! every way a token can be refused.

use std::time::Duration;

use actix_web::{HttpResponse, web};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use service_kit::auth::issuer::now_secs;
use service_kit::auth::{Claims, Role, SigningKeyPair, TokenIssuer, Verifier};
use service_kit::testing::TestKey;
use service_kit::{Identity, Readiness, Staff};

use crate::helpers::{TestServer, maintenance_pool, spawn_server};

/// `GET /me`: anyone with a valid token; answers who it is.
async fn me(caller: Identity) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "subject": caller.subject(),
        "staff": caller.is_staff(),
    }))
}

/// `GET /back-office`: staff only.
async fn back_office(staff: Staff) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "staff": staff.name }))
}

/// A kit server verifying the test key's tokens (30 s of leeway, the default).
async fn guarded_server() -> TestServer {
    guarded_server_with(
        Verifier::load(&TestKey::shared().auth_settings())
            .await
            .expect("the test key loads"),
    )
}

/// A kit server with `GET /me` and `GET /back-office`, verifying tokens with `verifier`.
pub fn guarded_server_with(verifier: Verifier) -> TestServer {
    let verifier = web::Data::new(verifier);
    spawn_server(Readiness::new(maintenance_pool(), || true), move |config| {
        config
            .app_data(verifier.clone())
            .route("/me", web::get().to(me))
            .route("/back-office", web::get().to(back_office));
    })
}

fn issuer() -> &'static TokenIssuer {
    &TestKey::shared().issuer
}

/// Claims the test key's verifier accepts, for `sub` with `roles`, valid for an hour.
fn claims(sub: &str, roles: &[Role]) -> Claims {
    let now = now_secs();
    Claims {
        sub: sub.to_owned(),
        iss: issuer().issuer().to_owned(),
        aud: issuer().audience().to_owned(),
        exp: now + 3600,
        iat: now,
        nbf: None,
        roles: roles.iter().map(|role| role.as_str().to_owned()).collect(),
    }
}

/// What a request answered: status, `WWW-Authenticate` and the JSON body.
pub struct Answer {
    pub status: u16,
    pub challenge: Option<String>,
    pub body: Value,
}

pub async fn call(server: &TestServer, path: &str, authorization: Option<&str>) -> Answer {
    let mut request = server.client.get(format!("{}{path}", server.address));
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    let response = request.send().await.expect("request sent");
    let status = response.status().as_u16();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|value| value.to_str().unwrap().to_owned());
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(content_type, "application/json", "{path}: status {status}");
    let body = response.json().await.expect("a JSON body");
    Answer {
        status,
        challenge,
        body,
    }
}

pub async fn with_token(server: &TestServer, path: &str, token: &str) -> Answer {
    call(server, path, Some(&format!("Bearer {token}"))).await
}

/// Asserts a 401 whose challenge says the token sent was refused, and returns its message.
pub fn assert_refused(answer: &Answer, case: &str) -> String {
    assert_eq!(answer.status, 401, "{case}: {}", answer.body);
    assert_eq!(answer.body["error"], "unauthorized", "{case}");
    let challenge = answer.challenge.as_deref().unwrap_or_default();
    assert!(
        challenge.starts_with(r#"Bearer realm="shop", error="invalid_token""#),
        "{case}: {challenge}"
    );
    answer.body["message"].as_str().unwrap().to_owned()
}

/// `token` with its header replaced by `header_base64url` and its signature by `signature`.
fn with_header(token: &str, header_base64url: &str, signature: &str) -> String {
    let payload = token.split('.').nth(1).expect("a JWT has a payload");
    format!("{header_base64url}.{payload}.{signature}")
}

#[tokio::test]
async fn no_token_is_a_401_with_a_bearer_challenge_and_a_json_body() {
    let server = guarded_server().await;
    for path in ["/me", "/back-office"] {
        let answer = call(&server, path, None).await;
        assert_eq!(answer.status, 401);
        assert_eq!(answer.body["error"], "unauthorized");
        assert!(answer.body["message"].as_str().unwrap().contains("Bearer"));
        assert_eq!(answer.challenge.as_deref(), Some(r#"Bearer realm="shop""#));
    }
    // Another scheme is no bearer token either: a challenge without an error code.
    let answer = call(&server, "/me", Some("Basic YWxpY2U6c2VjcmV0")).await;
    assert_eq!(answer.status, 401);
    assert_eq!(answer.challenge.as_deref(), Some(r#"Bearer realm="shop""#));
    server.stop().await;
}

#[tokio::test]
async fn a_customer_is_served_on_an_identity_route_and_refused_on_a_staff_route() {
    let server = guarded_server().await;
    let token = issuer().customer("alice");
    let answer = with_token(&server, "/me", &token).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body, json!({ "subject": "alice", "staff": false }));

    let answer = with_token(&server, "/back-office", &token).await;
    assert_eq!(answer.status, 403, "{}", answer.body);
    assert_eq!(answer.body["error"], "forbidden");
    assert_eq!(answer.challenge, None);
    server.stop().await;
}

#[tokio::test]
async fn staff_are_served_on_both_routes() {
    let server = guarded_server().await;
    let token = issuer().staff("ops");
    let answer = with_token(&server, "/back-office", &token).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body, json!({ "staff": "ops" }));
    let answer = with_token(&server, "/me", &token).await;
    assert_eq!(answer.body, json!({ "subject": "ops", "staff": true }));
    server.stop().await;
}

#[tokio::test]
async fn a_token_without_a_role_of_the_shop_is_a_403() {
    let server = guarded_server().await;
    let mut unknown_role = claims("eve", &[]);
    unknown_role.roles = vec!["admin".into()];
    for token in [
        issuer().token("eve", &[], Duration::from_secs(60)),
        issuer().sign(&unknown_role),
    ] {
        let answer = with_token(&server, "/me", &token).await;
        assert_eq!(answer.status, 403, "{}", answer.body);
        assert_eq!(answer.body["error"], "forbidden");
    }
    server.stop().await;
}

#[tokio::test]
async fn a_customer_whose_subject_is_longer_than_an_id_is_refused() {
    let server = guarded_server().await;
    let token = issuer().customer(&"c".repeat(101));
    let message = assert_refused(&with_token(&server, "/me", &token).await, "long subject");
    assert!(message.contains("subject"), "{message}");
    // The longest id is still a customer.
    let token = issuer().customer(&"c".repeat(100));
    assert_eq!(with_token(&server, "/me", &token).await.status, 200);
    server.stop().await;
}

#[tokio::test]
async fn a_token_signed_by_another_key_is_refused() {
    let server = guarded_server().await;
    let other = SigningKeyPair::generate().unwrap();
    let forger = TokenIssuer::new(&other.private_pem, "shop", "shop").unwrap();
    let message = assert_refused(
        &with_token(&server, "/back-office", &forger.staff("mallory")).await,
        "another key",
    );
    assert_eq!(message, "the token's signature does not verify");
    server.stop().await;
}

#[tokio::test]
async fn expiry_is_checked_with_the_leeway() {
    let server = guarded_server().await;
    let now = now_secs();
    let expired = Claims {
        exp: now - 120,
        iat: now - 3600,
        ..claims("alice", &[Role::Customer])
    };
    let message = assert_refused(
        &with_token(&server, "/me", &issuer().sign(&expired)).await,
        "expired beyond the leeway",
    );
    assert_eq!(message, "the token has expired");

    let just_expired = Claims {
        exp: now - 5,
        ..claims("alice", &[Role::Customer])
    };
    let answer = with_token(&server, "/me", &issuer().sign(&just_expired)).await;
    assert_eq!(answer.status, 200, "within the leeway: {}", answer.body);
    server.stop().await;
}

#[tokio::test]
async fn a_token_not_valid_yet_is_refused_beyond_the_leeway() {
    let server = guarded_server().await;
    let later = Claims {
        nbf: Some(now_secs() + 600),
        ..claims("alice", &[Role::Customer])
    };
    let message = assert_refused(
        &with_token(&server, "/me", &issuer().sign(&later)).await,
        "nbf in the future",
    );
    assert_eq!(message, "the token is not valid yet");

    let almost = Claims {
        nbf: Some(now_secs() + 5),
        ..claims("alice", &[Role::Customer])
    };
    assert_eq!(
        with_token(&server, "/me", &issuer().sign(&almost))
            .await
            .status,
        200
    );
    server.stop().await;
}

#[tokio::test]
async fn a_token_for_another_audience_or_from_another_issuer_is_refused() {
    let server = guarded_server().await;
    let elsewhere = issuer().for_audience("elsewhere").staff("ops");
    let message = assert_refused(
        &with_token(&server, "/me", &elsewhere).await,
        "another audience",
    );
    assert_eq!(message, "the token was issued for another audience");

    let foreign = Claims {
        iss: "someone-else".into(),
        ..claims("ops", &[Role::Staff])
    };
    let message = assert_refused(
        &with_token(&server, "/me", &issuer().sign(&foreign)).await,
        "another issuer",
    );
    assert_eq!(message, "the token was issued by another issuer");
    server.stop().await;
}

#[tokio::test]
async fn an_audience_list_naming_the_service_is_accepted() {
    let server = guarded_server().await;
    let mut claims = serde_json::to_value(claims("ops", &[Role::Staff])).unwrap();
    claims["aud"] = json!(["account", "shop"]);
    let answer = with_token(&server, "/me", &sign_raw(&claims)).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    claims["aud"] = json!(["account", "other"]);
    let message = assert_refused(
        &with_token(&server, "/me", &sign_raw(&claims)).await,
        "audience list",
    );
    assert_eq!(message, "the token was issued for another audience");
    server.stop().await;
}

/// `claims`, any JSON (what `TokenIssuer`, which writes `Claims`, would not), signed with the
/// test key: its private half is in the folder of its public half.
fn sign_raw(claims: &Value) -> String {
    let folder = TestKey::shared()
        .public_key_file
        .parent()
        .expect("the key folder");
    let pem = std::fs::read(folder.join(service_kit::auth::issuer::PRIVATE_KEY_FILE)).unwrap();
    let key = EncodingKey::from_ed_pem(&pem).unwrap();
    jsonwebtoken::encode(&Header::new(Algorithm::EdDSA), claims, &key).unwrap()
}

#[tokio::test]
async fn an_hmac_token_keyed_with_the_public_key_is_refused() {
    let server = guarded_server().await;
    // The algorithm-confusion attack: the public key is no secret, so a verifier that let the
    // token's header choose HS256 would check an HMAC anyone can compute.
    let public_pem = std::fs::read(&TestKey::shared().public_key_file).unwrap();
    let token = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims("mallory", &[Role::Staff]),
        &EncodingKey::from_secret(&public_pem),
    )
    .unwrap();
    let message = assert_refused(
        &with_token(&server, "/back-office", &token).await,
        "HS256 with the public key",
    );
    assert_eq!(
        message,
        "the token is signed with an algorithm this service does not accept"
    );
    server.stop().await;
}

#[tokio::test]
async fn an_unsigned_token_is_refused() {
    let server = guarded_server().await;
    let genuine = issuer().staff("mallory");
    // {"alg":"none","typ":"JWT"} and {"alg":"NONE"}, base64url.
    for header in ["eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0", "eyJhbGciOiJOT05FIn0"] {
        for signature in ["", "c2ln"] {
            let token = with_header(&genuine, header, signature);
            let message = assert_refused(
                &with_token(&server, "/back-office", &token).await,
                &format!("alg none: {token}"),
            );
            assert_eq!(
                message,
                "the token is signed with an algorithm this service does not accept"
            );
        }
    }
    server.stop().await;
}

#[tokio::test]
async fn garbage_is_refused_as_malformed() {
    let server = guarded_server().await;
    for token in ["not-a-jwt", "a.b.c", "Bearer"] {
        let message = assert_refused(
            &with_token(&server, "/me", token).await,
            &format!("garbage {token}"),
        );
        assert!(message.contains("malformed"), "{token}: {message}");
    }
    let answer = call(&server, "/me", Some("Bearer ")).await;
    assert_refused(&answer, "an empty bearer token");
    server.stop().await;
}
