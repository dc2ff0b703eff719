//! [`Verifier`]: checks a bearer token's signature and claims.

use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::{Jwk, JwkSet, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use tokio::sync::RwLock;

use super::{AuthSettings, Claims};

/// How long a fetch of the JWKS document may take.
const JWKS_FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a token was refused; the message is safe to show the caller (it says what is wrong with
/// the token, nothing about the keys).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
    #[error("the token's signature does not verify")]
    BadSignature,
    #[error("the token was issued for another audience")]
    WrongAudience,
    #[error("the token was issued by another issuer")]
    WrongIssuer,
    #[error("the token is signed with an algorithm this service does not accept")]
    WrongAlgorithm,
    #[error("the token names a signing key this service does not know")]
    UnknownKey,
    #[error("the token is malformed: {0}")]
    Malformed(String),
}

/// The keys a token may be signed with.
enum Keys {
    /// One PEM key: every token is checked against it, with the verifier's `validation`, whose
    /// algorithms are the key's (set once, at load).
    Single(DecodingKey),
    /// A JWKS document: the token's `kid` picks the key (or the only key, without a `kid`).
    Set(KeySet),
}

struct KeySet {
    keys: RwLock<JwkSet>,
    /// Where to fetch the document again; `None` for a file.
    url: Option<String>,
    /// When it was last fetched, so that tokens naming unknown keys cannot make the service
    /// hammer the identity provider.
    fetched: Mutex<Instant>,
    refresh_every: Duration,
}

/// Verifies bearer tokens: signature (asymmetric algorithms only: a shared secret would let
/// every service mint tokens), issuer, audience, expiry and not-before, with bounded leeway.
/// Built once at startup and shared by every worker.
pub struct Verifier {
    keys: Keys,
    /// The checks of every token; `algorithms` is the single key's, or set per key of a set.
    validation: Validation,
    /// The audience checked; a verified token's [`Claims::aud`] is set to it.
    audience: String,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let source = match &self.keys {
            Keys::Single { .. } => "public key",
            Keys::Set(set) if set.url.is_some() => "JWKS URL",
            Keys::Set(_) => "JWKS file",
        };
        f.debug_struct("Verifier")
            .field("keys", &source)
            .finish_non_exhaustive()
    }
}

impl Verifier {
    /// Reads (or fetches) the key named in `settings`; fails when none or more than one source
    /// is named, or the key cannot be read. An empty value counts as unset, as an environment
    /// variable set to nothing means to.
    pub async fn load(settings: &AuthSettings) -> anyhow::Result<Self> {
        let public_key_file = settings
            .public_key_file
            .as_deref()
            .filter(|path| !path.as_os_str().is_empty());
        let jwks_file = settings
            .jwks_file
            .as_deref()
            .filter(|path| !path.as_os_str().is_empty());
        let jwks_url = settings
            .jwks_url
            .as_deref()
            .map(str::trim)
            .filter(|url| !url.is_empty());
        let keys = match (public_key_file, jwks_file, jwks_url) {
            (Some(file), None, None) => single_key(file)?,
            (None, Some(file), None) => {
                let text = std::fs::read_to_string(file)
                    .with_context(|| format!("Failed to read the JWKS file {}", file.display()))?;
                let set = parse_jwks(&text)
                    .with_context(|| format!("Failed to read the JWKS file {}", file.display()))?;
                Keys::Set(KeySet::new(set, None, settings))
            }
            (None, None, Some(url)) => {
                let set = fetch_jwks(url).await?;
                Keys::Set(KeySet::new(set, Some(url.to_owned()), settings))
            }
            (None, None, None) => bail!(
                "No key to verify bearer tokens with: set one of auth.public_key_file, \
                 auth.jwks_file or auth.jwks_url (e.g. SHOP__AUTH__PUBLIC_KEY_FILE)"
            ),
            (public_key_file, jwks_file, jwks_url) => {
                let set: Vec<&str> = [
                    public_key_file.map(|_| "auth.public_key_file"),
                    jwks_file.map(|_| "auth.jwks_file"),
                    jwks_url.map(|_| "auth.jwks_url"),
                ]
                .into_iter()
                .flatten()
                .collect();
                bail!(
                    "Set only one source of the key that verifies bearer tokens; {} are set",
                    set.join(" and ")
                )
            }
        };
        let mut validation = Validation::new(Algorithm::EdDSA);
        if let Keys::Single(key) = &keys {
            validation.algorithms = asymmetric(key);
        }
        validation.set_issuer(&[&settings.issuer]);
        validation.set_audience(&[&settings.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = settings.leeway_secs;
        Ok(Self {
            keys,
            validation,
            audience: settings.audience.clone(),
        })
    }

    /// The claims of `token` when it verifies.
    ///
    /// The claims are read into [`Claims`] only once signature and every check have passed, so
    /// that an expired token says it is expired, whatever else is odd about it.
    pub async fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        let header = decode_header(token).map_err(header_reason)?;
        let verified = match &self.keys {
            // The common case, on every request: nothing copied.
            Keys::Single(key) => decode::<serde_json::Value>(token, key, &self.validation),
            Keys::Set(set) => {
                let (key, algorithms) = set.key_for(header.kid.as_deref(), header.alg).await?;
                let mut validation = self.validation.clone();
                validation.algorithms = algorithms;
                decode::<serde_json::Value>(token, &key, &validation)
            }
        }
        .map_err(reason)?;
        let mut claims: Claims = serde_json::from_value(verified.claims)
            .map_err(|_| TokenError::Malformed("its claims are not what the shop reads".into()))?;
        claims.aud.clone_from(&self.audience);
        Ok(claims)
    }
}

impl KeySet {
    fn new(keys: JwkSet, url: Option<String>, settings: &AuthSettings) -> Self {
        Self {
            keys: RwLock::new(keys),
            url,
            fetched: Mutex::new(Instant::now()),
            refresh_every: Duration::from_secs(settings.jwks_refresh_secs),
        }
    }

    /// The key `kid` names (the only key when there is no `kid` and the set holds one), fetched
    /// again once if unknown and the document comes from a URL.
    async fn key_for(
        &self,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> Result<(DecodingKey, Vec<Algorithm>), TokenError> {
        if let Some(found) = find(&*self.keys.read().await, kid, alg) {
            return found;
        }
        if self.refresh_due() {
            if let Some(url) = &self.url {
                match fetch_jwks(url).await {
                    Ok(fresh) => *self.keys.write().await = fresh,
                    Err(error) => tracing::warn!(error = ?error, "could not fetch the JWKS again"),
                }
            }
            if let Some(found) = find(&*self.keys.read().await, kid, alg) {
                return found;
            }
        }
        Err(TokenError::UnknownKey)
    }

    /// Whether a fetch may happen now; marks it as done if so.
    fn refresh_due(&self) -> bool {
        let mut fetched = self
            .fetched
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if self.url.is_none() || fetched.elapsed() < self.refresh_every {
            return false;
        }
        *fetched = Instant::now();
        true
    }
}

/// The key of `set` for a token with `kid` and `alg`, and the algorithms it may verify: those
/// of the key's family, narrowed to the one the key declares (`alg`, RFC 7517 §4.4). A key
/// meant for encryption (`"use": "enc"`) verifies nothing.
fn find(
    set: &JwkSet,
    kid: Option<&str>,
    alg: Algorithm,
) -> Option<Result<(DecodingKey, Vec<Algorithm>), TokenError>> {
    let jwk: &Jwk = match kid {
        Some(kid) => set.find(kid)?,
        None if set.keys.len() == 1 => &set.keys[0],
        None => return None,
    };
    if jwk.common.public_key_use == Some(PublicKeyUse::Encryption) {
        return Some(Err(TokenError::UnknownKey));
    }
    Some(
        DecodingKey::from_jwk(jwk)
            .map_err(|_| TokenError::UnknownKey)
            .and_then(|key| {
                let mut algorithms = asymmetric(&key);
                if let Some(declared) = jwk.common.key_algorithm {
                    algorithms.retain(|candidate| KeyAlgorithm::from(*candidate) == declared);
                }
                if algorithms.contains(&alg) {
                    Ok((key, algorithms))
                } else {
                    Err(TokenError::WrongAlgorithm)
                }
            }),
    )
}

/// The algorithms a key of this family verifies; none for a shared secret, which this service
/// never accepts.
fn asymmetric(key: &DecodingKey) -> Vec<Algorithm> {
    use jsonwebtoken::AlgorithmFamily;
    match key.family() {
        AlgorithmFamily::Hmac => Vec::new(),
        family => family.algorithms().to_vec(),
    }
}

fn single_key(file: &Path) -> anyhow::Result<Keys> {
    let pem = std::fs::read(file)
        .with_context(|| format!("Failed to read the public key {}", file.display()))?;
    let key = DecodingKey::from_ed_pem(&pem)
        .or_else(|_| DecodingKey::from_rsa_pem(&pem))
        .or_else(|_| DecodingKey::from_ec_pem(&pem))
        .with_context(|| {
            format!(
                "{} is not a PEM public key (Ed25519, RSA or EC)",
                file.display()
            )
        })?;
    Ok(Keys::Single(key))
}

fn parse_jwks(text: &str) -> anyhow::Result<JwkSet> {
    serde_json::from_str(text).context("The JWKS document is not a JSON Web Key Set")
}

async fn fetch_jwks(url: &str) -> anyhow::Result<JwkSet> {
    let text = reqwest::Client::builder()
        .timeout(JWKS_FETCH_TIMEOUT)
        .build()
        .context("Failed to build an HTTP client")?
        .get(url)
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .with_context(|| format!("Failed to fetch the JWKS document {url}"))?
        .text()
        .await
        .with_context(|| format!("Failed to read the JWKS document {url}"))?;
    parse_jwks(&text)
}

/// Why a token's header was refused: an algorithm outside those `jsonwebtoken` knows (`none`
/// above all) is a wrong algorithm; anything else, a malformed token.
fn header_reason(error: jsonwebtoken::errors::Error) -> TokenError {
    match error.kind() {
        // serde's message for a value outside an enum, here `alg`.
        ErrorKind::Json(cause) if cause.to_string().starts_with("unknown variant") => {
            TokenError::WrongAlgorithm
        }
        _ => TokenError::Malformed("its header is not a JWT header".into()),
    }
}

/// Why a token was refused, from `jsonwebtoken`'s error.
fn reason(error: jsonwebtoken::errors::Error) -> TokenError {
    match error.kind() {
        ErrorKind::ExpiredSignature => TokenError::Expired,
        ErrorKind::ImmatureSignature => TokenError::NotYetValid,
        ErrorKind::InvalidSignature => TokenError::BadSignature,
        ErrorKind::InvalidAudience => TokenError::WrongAudience,
        ErrorKind::InvalidIssuer => TokenError::WrongIssuer,
        ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => TokenError::WrongAlgorithm,
        ErrorKind::MissingRequiredClaim(claim) => {
            TokenError::Malformed(format!("the claim `{claim}` is missing"))
        }
        ErrorKind::InvalidClaimFormat(claim) => {
            TokenError::Malformed(format!("the claim `{claim}` is not a number of seconds"))
        }
        ErrorKind::Json(_) => {
            TokenError::Malformed("its claims are not what the shop reads".into())
        }
        _ => TokenError::Malformed("not a signed JWT".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The message of `Verifier::load`'s failure, with its causes.
    async fn load_error(settings: AuthSettings) -> String {
        format!(
            "{:#}",
            Verifier::load(&settings)
                .await
                .expect_err("the settings are refused")
        )
    }

    #[tokio::test]
    async fn settings_without_a_key_are_refused_naming_the_three_sources() {
        let error = load_error(AuthSettings::default()).await;
        for source in ["auth.public_key_file", "auth.jwks_file", "auth.jwks_url"] {
            assert!(error.contains(source), "{error}");
        }
    }

    #[tokio::test]
    async fn empty_values_count_as_unset() {
        let error = load_error(AuthSettings {
            public_key_file: Some("".into()),
            jwks_url: Some("  ".into()),
            ..AuthSettings::default()
        })
        .await;
        assert!(error.starts_with("No key to verify"), "{error}");
    }

    #[tokio::test]
    async fn two_sources_are_refused_naming_both() {
        let error = load_error(AuthSettings {
            public_key_file: Some("/nowhere/key.pem".into()),
            jwks_url: Some("http://127.0.0.1:9/jwks.json".into()),
            ..AuthSettings::default()
        })
        .await;
        assert!(
            error.contains("only one source")
                && error.contains("auth.public_key_file and auth.jwks_url are set"),
            "{error}"
        );
    }

    #[tokio::test]
    async fn an_unreadable_key_file_is_refused_naming_the_file() {
        let error = load_error(AuthSettings {
            public_key_file: Some("/nowhere/key.pem".into()),
            ..AuthSettings::default()
        })
        .await;
        assert!(error.contains("/nowhere/key.pem"), "{error}");
    }

    #[tokio::test]
    async fn a_file_that_is_no_public_key_is_refused() {
        let folder = std::env::temp_dir().join(format!("kit-verifier-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&folder).unwrap();
        let not_a_key = folder.join("key.pem");
        std::fs::write(&not_a_key, "not a key").unwrap();
        let jwks = folder.join("jwks.json");
        std::fs::write(&jwks, r#"{"keys": "none"}"#).unwrap();

        let error = load_error(AuthSettings {
            public_key_file: Some(not_a_key),
            ..AuthSettings::default()
        })
        .await;
        assert!(error.contains("is not a PEM public key"), "{error}");
        let error = load_error(AuthSettings {
            jwks_file: Some(jwks),
            ..AuthSettings::default()
        })
        .await;
        assert!(error.contains("not a JSON Web Key Set"), "{error}");
        std::fs::remove_dir_all(folder).ok();
    }

    #[tokio::test]
    async fn an_unreachable_jwks_url_is_refused_naming_it() {
        let closed_port = {
            let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            probe.local_addr().unwrap().port()
        };
        let url = format!("http://127.0.0.1:{closed_port}/jwks.json");
        let error = load_error(AuthSettings {
            jwks_url: Some(url.clone()),
            ..AuthSettings::default()
        })
        .await;
        assert!(error.contains(&url), "{error}");
    }
}
