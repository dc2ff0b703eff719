//! Keys from a JWKS document, a file or a URL: the token's `kid` picks the key, and a document
//! from a URL is fetched again when a token names a key it lacks (the provider rotated), at
//! most every `jwks_refresh_secs`.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpResponse, HttpServer, web};
use jsonwebtoken::jwk::{JwkSet, KeyAlgorithm, PublicKeyUse};
use service_kit::auth::{AuthSettings, SigningKeyPair, TokenError, TokenIssuer, Verifier};
use tokio::task::JoinHandle;

use crate::auth::{assert_refused, guarded_server_with, with_token};

/// An issuer of a key of its own, naming it `kid` in its tokens.
fn issuer(kid: &str) -> TokenIssuer {
    let pair = SigningKeyPair::generate().expect("a key pair");
    TokenIssuer::new(&pair.private_pem, "shop", "shop")
        .expect("an issuer")
        .with_key_id(kid)
}

/// The JWKS document listing the keys of `issuers`.
fn jwks(issuers: &[&TokenIssuer]) -> String {
    let set = JwkSet {
        keys: issuers.iter().map(|issuer| issuer.jwk()).collect(),
    };
    serde_json::to_string(&set).expect("a JWKS serializes")
}

fn settings() -> AuthSettings {
    AuthSettings {
        issuer: "shop".into(),
        audience: "shop".into(),
        ..AuthSettings::default()
    }
}

/// `document` in a file of its own; the caller removes the folder.
fn jwks_file(document: &str) -> (PathBuf, PathBuf) {
    let folder = std::env::temp_dir().join(format!("kit-jwks-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&folder).unwrap();
    let file = folder.join("jwks.json");
    std::fs::write(&file, document).unwrap();
    (folder, file)
}

#[tokio::test]
async fn a_jwks_file_of_two_keys_picks_the_key_the_token_names() {
    let (one, two) = (issuer("one"), issuer("two"));
    let mut encryption_only = issuer("enc").jwk();
    encryption_only.common.public_key_use = Some(PublicKeyUse::Encryption);
    let mut set: JwkSet = serde_json::from_str(&jwks(&[&one, &two])).unwrap();
    set.keys.push(encryption_only);
    let (folder, file) = jwks_file(&serde_json::to_string(&set).unwrap());
    let verifier = Verifier::load(&AuthSettings {
        jwks_file: Some(file),
        ..settings()
    })
    .await
    .expect("the JWKS file loads");

    let claims = verifier.verify(&two.staff("ops")).await.expect("key two");
    assert_eq!(claims.sub, "ops");
    assert_eq!(claims.aud, "shop");
    assert!(verifier.verify(&one.customer("alice")).await.is_ok());

    let two_posing_as_one = two.with_key_id("one");
    assert_eq!(
        verifier.verify(&two_posing_as_one.staff("ops")).await,
        Err(TokenError::BadSignature)
    );
    assert_eq!(
        verifier
            .verify(&two.with_key_id("three").staff("ops"))
            .await,
        Err(TokenError::UnknownKey)
    );
    assert_eq!(
        verifier.verify(&issuer("enc").staff("ops")).await,
        Err(TokenError::UnknownKey),
        "a key for encryption verifies nothing"
    );
    // Without a kid, the key of a set of several cannot be chosen.
    let pair = SigningKeyPair::generate().unwrap();
    let without_kid = TokenIssuer::new(&pair.private_pem, "shop", "shop").unwrap();
    assert_eq!(
        verifier.verify(&without_kid.staff("ops")).await,
        Err(TokenError::UnknownKey)
    );
    std::fs::remove_dir_all(folder).ok();
}

#[tokio::test]
async fn a_key_verifies_only_the_algorithm_it_declares() {
    let ed = issuer("ed");
    let mut jwk = ed.jwk();
    // An Ed25519 key declared for ES256: no algorithm is left that it may verify.
    jwk.common.key_algorithm = Some(KeyAlgorithm::ES256);
    let (folder, file) = jwks_file(&serde_json::to_string(&JwkSet { keys: vec![jwk] }).unwrap());
    let verifier = Verifier::load(&AuthSettings {
        jwks_file: Some(file),
        ..settings()
    })
    .await
    .unwrap();
    assert_eq!(
        verifier.verify(&ed.staff("ops")).await,
        Err(TokenError::WrongAlgorithm)
    );
    std::fs::remove_dir_all(folder).ok();
}

#[tokio::test]
async fn a_token_naming_an_unknown_key_is_a_401_through_the_server() {
    let two = issuer("two");
    let (folder, file) = jwks_file(&jwks(&[&issuer("one"), &two]));
    let verifier = Verifier::load(&AuthSettings {
        jwks_file: Some(file),
        ..settings()
    })
    .await
    .unwrap();
    let server = guarded_server_with(verifier);
    let answer = with_token(&server, "/back-office", &two.staff("ops")).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let unknown = two.with_key_id("three").staff("ops");
    let message = assert_refused(
        &with_token(&server, "/back-office", &unknown).await,
        "unknown kid",
    );
    assert_eq!(
        message,
        "the token names a signing key this service does not know"
    );
    server.stop().await;
    std::fs::remove_dir_all(folder).ok();
}

#[tokio::test]
async fn a_single_key_set_verifies_tokens_without_a_kid() {
    let pair = SigningKeyPair::generate().unwrap();
    let plain = TokenIssuer::new(&pair.private_pem, "shop", "shop").unwrap();
    let (folder, file) = jwks_file(&jwks(&[&plain.with_key_id("only")]));
    let verifier = Verifier::load(&AuthSettings {
        jwks_file: Some(file),
        ..settings()
    })
    .await
    .unwrap();
    assert!(verifier.verify(&plain.staff("ops")).await.is_ok());
    std::fs::remove_dir_all(folder).ok();
}

/// An identity provider's `jwks_uri`: serves `document` and counts the fetches.
struct JwksHost {
    url: String,
    document: Arc<Mutex<String>>,
    fetches: Arc<AtomicUsize>,
    handle: ServerHandle,
    task: JoinHandle<std::io::Result<()>>,
}

impl JwksHost {
    fn start(document: String) -> Self {
        let document = Arc::new(Mutex::new(document));
        let fetches = Arc::new(AtomicUsize::new(0));
        let state = (document.clone(), fetches.clone());
        let server = HttpServer::new(move || {
            let (document, fetches) = state.clone();
            App::new().route(
                "/.well-known/jwks.json",
                web::get().to(move || {
                    fetches.fetch_add(1, Ordering::SeqCst);
                    let body = document.lock().unwrap().clone();
                    async move {
                        HttpResponse::Ok()
                            .content_type("application/json")
                            .body(body)
                    }
                }),
            )
        })
        .workers(1)
        .disable_signals()
        .bind("127.0.0.1:0")
        .expect("bind a free port");
        let url = format!("http://{}/.well-known/jwks.json", server.addrs()[0]);
        let server = server.run();
        let handle = server.handle();
        Self {
            url,
            document,
            fetches,
            handle,
            task: tokio::spawn(server),
        }
    }

    /// The provider rotates its keys: `document` is served from now on.
    fn publish(&self, document: String) {
        *self.document.lock().unwrap() = document;
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }

    async fn stop(self) {
        self.handle.stop(true).await;
        self.task.await.unwrap().unwrap();
    }
}

async fn verifier_of(host: &JwksHost, refresh_secs: u64) -> Verifier {
    Verifier::load(&AuthSettings {
        jwks_url: Some(host.url.clone()),
        jwks_refresh_secs: refresh_secs,
        ..settings()
    })
    .await
    .expect("the JWKS URL loads")
}

#[tokio::test]
async fn a_jwks_url_is_fetched_at_startup_and_again_for_a_rotated_key() {
    let (old, new) = (issuer("2024"), issuer("2025"));
    let host = JwksHost::start(jwks(&[&old]));
    let verifier = verifier_of(&host, 0).await;
    assert_eq!(host.fetches(), 1, "fetched at startup");
    assert!(verifier.verify(&old.staff("ops")).await.is_ok());
    assert_eq!(host.fetches(), 1, "a known key needs no fetch");

    host.publish(jwks(&[&new]));
    let claims = verifier
        .verify(&new.staff("ops"))
        .await
        .expect("the rotated key is picked up");
    assert_eq!(claims.sub, "ops");
    assert_eq!(host.fetches(), 2);
    assert_eq!(
        verifier.verify(&old.staff("ops")).await,
        Err(TokenError::UnknownKey),
        "the retired key is gone"
    );
    host.stop().await;
}

#[tokio::test]
async fn unknown_keys_do_not_fetch_the_jwks_more_often_than_the_refresh_interval() {
    let (old, new) = (issuer("2024"), issuer("2025"));
    let host = JwksHost::start(jwks(&[&old]));
    let verifier = verifier_of(&host, 3600).await;
    host.publish(jwks(&[&new]));
    for _ in 0..3 {
        assert_eq!(
            verifier.verify(&new.staff("ops")).await,
            Err(TokenError::UnknownKey)
        );
    }
    assert_eq!(host.fetches(), 1, "no fetch before the interval is over");
    assert!(verifier.verify(&old.staff("ops")).await.is_ok());
    host.stop().await;
}

#[tokio::test]
async fn a_broken_jwks_document_keeps_the_keys_already_known() {
    let old = issuer("2024");
    let host = JwksHost::start(jwks(&[&old]));
    let verifier = verifier_of(&host, 0).await;
    host.publish("<html>maintenance</html>".into());
    assert_eq!(
        verifier.verify(&issuer("2025").staff("ops")).await,
        Err(TokenError::UnknownKey)
    );
    assert_eq!(host.fetches(), 2);
    assert!(verifier.verify(&old.staff("ops")).await.is_ok());
    host.stop().await;
}
