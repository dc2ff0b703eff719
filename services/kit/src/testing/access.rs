//! What every service's access tests share: the tokens a service must refuse, and the shape
//! of its 401 and 403 answers.

use serde_json::Value;

use super::TestKey;
use crate::auth::issuer::now_secs;
use crate::auth::{Claims, SigningKeyPair, TokenIssuer};

/// Staff tokens the service must refuse with a 401, each with what is wrong with it: signed by
/// a key the service does not trust, expired beyond the 30 s leeway, and meant for another
/// audience.
pub fn refused_tokens() -> Vec<(&'static str, String)> {
    let issuer = &TestKey::shared().issuer;
    let foreign = SigningKeyPair::generate().expect("a key pair");
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

/// `response` is a 401 with the JSON error body and a bearer challenge; `case` names it in a
/// failure.
pub async fn assert_unauthorized(response: reqwest::Response, case: &str) {
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
pub async fn assert_forbidden(response: reqwest::Response) {
    assert_eq!(response.status(), 403);
    let body: Value = response.json().await.expect("a JSON error body");
    assert_eq!(body["error"], "forbidden");
}
