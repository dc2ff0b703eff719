//! The shop's own signing key: [`SigningKeyPair`] makes one, [`TokenIssuer`] signs tokens with
//! it. A local system (`scripts/run` keeps the pair under `data/auth/`), the operator's
//! `scripts/shopctl token` and the tests use it; a deployment behind a real identity provider
//! configures only the provider's public key and never needs this.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{EncodePrivateKey, EncodePublicKey};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use secrecy::{ExposeSecret, SecretString};

use super::{Claims, Role};

/// How long a token made by [`TokenIssuer::customer`] or [`TokenIssuer::staff`] lives.
pub const DEFAULT_TOKEN_TTL: Duration = Duration::from_secs(12 * 60 * 60);

/// An Ed25519 key pair in PEM: the private half signs tokens, the public half is what the
/// services verify them with (`auth.public_key_file`).
pub struct SigningKeyPair {
    /// PKCS#8 PEM; never logged.
    pub private_pem: SecretString,
    /// SubjectPublicKeyInfo PEM.
    pub public_pem: String,
}

impl SigningKeyPair {
    /// A new pair from the operating system's random source.
    pub fn generate() -> anyhow::Result<Self> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).context("Failed to read the OS random source")?;
        let key = SigningKey::from_bytes(&seed);
        let private_pem = key
            .to_pkcs8_pem(LineEnding::LF)
            .context("Failed to encode the private key")?;
        let public_pem = key
            .verifying_key()
            .to_public_key_pem(LineEnding::LF)
            .context("Failed to encode the public key")?;
        Ok(Self {
            private_pem: SecretString::from(private_pem.as_str()),
            public_pem,
        })
    }

    /// Writes `signing-key.pem` (readable by its owner only) and `signing-key.pub.pem` into
    /// `folder`, creating it.
    pub fn write_to(&self, folder: &Path) -> anyhow::Result<()> {
        std::fs::create_dir_all(folder)
            .with_context(|| format!("Failed to create {}", folder.display()))?;
        let private = folder.join(PRIVATE_KEY_FILE);
        write_private(&private, self.private_pem.expose_secret())
            .with_context(|| format!("Failed to write {}", private.display()))?;
        let public = folder.join(PUBLIC_KEY_FILE);
        std::fs::write(&public, &self.public_pem)
            .with_context(|| format!("Failed to write {}", public.display()))
    }
}

/// The private key's file name in a key folder.
pub const PRIVATE_KEY_FILE: &str = "signing-key.pem";
/// The public key's file name in a key folder.
pub const PUBLIC_KEY_FILE: &str = "signing-key.pub.pem";

#[cfg(unix)]
fn write_private(path: &Path, pem: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(pem.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, pem: &str) -> std::io::Result<()> {
    std::fs::write(path, pem)
}

/// Signs tokens with an Ed25519 private key (`EdDSA`), for one issuer and audience.
#[derive(Clone)]
pub struct TokenIssuer {
    key: EncodingKey,
    issuer: String,
    audience: String,
}

impl TokenIssuer {
    /// An issuer signing with `private_pem` (PKCS#8 Ed25519).
    pub fn new(private_pem: &SecretString, issuer: &str, audience: &str) -> anyhow::Result<Self> {
        let key = EncodingKey::from_ed_pem(private_pem.expose_secret().as_bytes())
            .context("The signing key is not an Ed25519 private key in PEM")?;
        Ok(Self {
            key,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
        })
    }

    /// An issuer with the private key of the key folder `folder` (see
    /// [`SigningKeyPair::write_to`]).
    pub fn from_folder(folder: &Path, issuer: &str, audience: &str) -> anyhow::Result<Self> {
        let path = folder.join(PRIVATE_KEY_FILE);
        let pem = std::fs::read_to_string(&path)
            .with_context(|| format!("Failed to read the signing key {}", path.display()))?;
        Self::new(&SecretString::from(pem), issuer, audience)
    }

    /// This issuer, for another audience (a token the services must refuse).
    pub fn for_audience(&self, audience: &str) -> Self {
        Self {
            audience: audience.to_owned(),
            ..self.clone()
        }
    }

    /// A token for customer `customer_id`, valid for [`DEFAULT_TOKEN_TTL`].
    pub fn customer(&self, customer_id: &str) -> String {
        self.token(customer_id, &[Role::Customer], DEFAULT_TOKEN_TTL)
    }

    /// A token for staff member `name`, valid for [`DEFAULT_TOKEN_TTL`].
    pub fn staff(&self, name: &str) -> String {
        self.token(name, &[Role::Staff], DEFAULT_TOKEN_TTL)
    }

    /// A token for `subject` with `roles`, valid for `ttl` from now.
    pub fn token(&self, subject: &str, roles: &[Role], ttl: Duration) -> String {
        let now = now_secs();
        self.sign(&Claims {
            sub: subject.to_owned(),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            iat: now,
            exp: now + ttl.as_secs(),
            roles: roles.iter().map(|role| role.as_str().to_owned()).collect(),
        })
    }

    /// `claims` signed as they are (tests make expired or odd tokens with it).
    pub fn sign(&self, claims: &Claims) -> String {
        encode(&Header::new(Algorithm::EdDSA), claims, &self.key)
            .expect("an Ed25519 key signs any claims")
    }

    /// The issuer and audience this issuer writes.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    pub fn audience(&self) -> &str {
        &self.audience
    }
}

/// Seconds since the epoch.
pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}
