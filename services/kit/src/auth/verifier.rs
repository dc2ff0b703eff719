//! [`Verifier`]: checks a bearer token's signature and claims.

use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::{Jwk, JwkSet};
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
    /// One PEM key: every token is checked against it.
    Single {
        key: DecodingKey,
        algorithms: Vec<Algorithm>,
    },
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
    /// The checks of every token; `algorithms` is set per key.
    validation: Validation,
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
    /// is named, or the key cannot be read.
    pub async fn load(settings: &AuthSettings) -> anyhow::Result<Self> {
        let keys = match (
            &settings.public_key_file,
            &settings.jwks_file,
            &settings.jwks_url,
        ) {
            (Some(file), None, None) => single_key(file)?,
            (None, Some(file), None) => {
                let text = std::fs::read_to_string(file)
                    .with_context(|| format!("Failed to read the JWKS file {}", file.display()))?;
                Keys::Set(KeySet::new(parse_jwks(&text)?, None, settings))
            }
            (None, None, Some(url)) => {
                let set = fetch_jwks(url).await?;
                Keys::Set(KeySet::new(set, Some(url.clone()), settings))
            }
            (None, None, None) => bail!(
                "No key to verify bearer tokens with: set auth.public_key_file, auth.jwks_file or \
                 auth.jwks_url (e.g. SHOP__AUTH__PUBLIC_KEY_FILE)"
            ),
            _ => bail!(
                "Set only one of auth.public_key_file, auth.jwks_file and auth.jwks_url"
            ),
        };
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[&settings.issuer]);
        validation.set_audience(&[&settings.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = settings.leeway_secs;
        Ok(Self { keys, validation })
    }

    /// The claims of `token` when it verifies.
    pub async fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        let header = decode_header(token).map_err(reason)?;
        let (key, algorithms) = match &self.keys {
            Keys::Single { key, algorithms } => (key.clone(), algorithms.clone()),
            Keys::Set(set) => set.key_for(header.kid.as_deref(), header.alg).await?,
        };
        let mut validation = self.validation.clone();
        validation.algorithms = algorithms;
        decode::<Claims>(token, &key, &validation)
            .map(|data| data.claims)
            .map_err(reason)
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
        let mut fetched = self.fetched.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if self.url.is_none() || fetched.elapsed() < self.refresh_every {
            return false;
        }
        *fetched = Instant::now();
        true
    }
}

/// The key of `set` for a token with `kid` and `alg`, and the algorithms it may verify.
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
    Some(
        DecodingKey::from_jwk(jwk)
            .map_err(|_| TokenError::UnknownKey)
            .and_then(|key| {
                let algorithms = asymmetric(&key);
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
    let algorithms = asymmetric(&key);
    Ok(Keys::Single { key, algorithms })
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

fn reason(error: jsonwebtoken::errors::Error) -> TokenError {
    match error.kind() {
        ErrorKind::ExpiredSignature => TokenError::Expired,
        ErrorKind::ImmatureSignature => TokenError::NotYetValid,
        ErrorKind::InvalidSignature => TokenError::BadSignature,
        ErrorKind::InvalidAudience => TokenError::WrongAudience,
        ErrorKind::InvalidIssuer => TokenError::WrongIssuer,
        ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
            TokenError::WrongAlgorithm
        }
        ErrorKind::MissingRequiredClaim(claim) => {
            TokenError::Malformed(format!("the claim `{claim}` is missing"))
        }
        ErrorKind::Json(_) => TokenError::Malformed("its claims are not what the shop reads".into()),
        _ => TokenError::Malformed("not a signed JWT".into()),
    }
}
