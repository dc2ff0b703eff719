//! The shop's own signing key: [`SigningKeyPair`] makes one, [`TokenIssuer`] signs tokens with
//! it. A local system (`scripts/run` keeps the pair under `data/auth/`), the operator's
//! `scripts/shopctl token` and the tests use it; a deployment behind a real identity provider
//! configures only the provider's public key and never needs this.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey};
use jsonwebtoken::jwk::{Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, encode};
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

/// Writes `pem` (or any secret) to `path`, readable and writable by its owner only.
#[cfg(unix)]
pub fn write_private(path: &Path, pem: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    use std::os::unix::fs::PermissionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    // `mode` applies only to a new file: one written over keeps its old, maybe wider, mode.
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    file.write_all(pem.as_bytes())
}

#[cfg(not(unix))]
pub fn write_private(path: &Path, pem: &str) -> std::io::Result<()> {
    std::fs::write(path, pem)
}

/// Signs tokens with an Ed25519 private key (`EdDSA`), for one issuer and audience.
#[derive(Clone)]
pub struct TokenIssuer {
    key: EncodingKey,
    /// The public half, for [`Self::jwk`].
    public_key: DecodingKey,
    issuer: String,
    audience: String,
    /// The `kid` written in every token's header, so that a verifier holding a JWKS of several
    /// keys (during a rotation) picks this one; none by default (a single public key needs no
    /// name).
    key_id: Option<String>,
}

impl TokenIssuer {
    /// An issuer signing with `private_pem` (PKCS#8 Ed25519).
    pub fn new(private_pem: &SecretString, issuer: &str, audience: &str) -> anyhow::Result<Self> {
        let not_ed25519 = "The signing key is not an Ed25519 private key in PEM";
        let key = EncodingKey::from_ed_pem(private_pem.expose_secret().as_bytes())
            .context(not_ed25519)?;
        let public_half = SigningKey::from_pkcs8_pem(private_pem.expose_secret())
            .context(not_ed25519)?
            .verifying_key();
        Ok(Self {
            key,
            public_key: DecodingKey::from_ed_der(public_half.as_bytes()),
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            key_id: None,
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

    /// This issuer, naming its key `key_id` (the `kid` of its entry in a JWKS) in every token.
    pub fn with_key_id(&self, key_id: &str) -> Self {
        Self {
            key_id: Some(key_id.to_owned()),
            ..self.clone()
        }
    }

    /// The public half of this issuer's key as a JWK (with its key id, if any): what a JWKS
    /// document lists for the services to verify this issuer's tokens.
    pub fn jwk(&self) -> Jwk {
        // From the public half: `Jwk::from_encoding_key` does not read the key `from_ed_pem` makes.
        let mut jwk = Jwk::from_decoding_key(&self.public_key, Some(Algorithm::EdDSA))
            .expect("an Ed25519 public key is 32 bytes");
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        jwk.common.key_id.clone_from(&self.key_id);
        jwk
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
            nbf: None,
            roles: roles.iter().map(|role| role.as_str().to_owned()).collect(),
        })
    }

    /// `claims` signed as they are (tests make expired or odd tokens with it).
    pub fn sign(&self, claims: &Claims) -> String {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid.clone_from(&self.key_id);
        encode(&header, claims, &self.key).expect("an Ed25519 key signs any claims")
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_jwk_is_the_public_half_named_by_the_key_id() {
        let pair = SigningKeyPair::generate().unwrap();
        let issuer = TokenIssuer::new(&pair.private_pem, "shop", "shop")
            .unwrap()
            .with_key_id("2025");
        let jwk = serde_json::to_value(issuer.jwk()).unwrap();
        assert_eq!(jwk["kty"], "OKP");
        assert_eq!(jwk["crv"], "Ed25519");
        assert_eq!(jwk["kid"], "2025");
        assert_eq!(jwk["alg"], "EdDSA");
        assert_eq!(jwk["use"], "sig");
        assert!(jwk.get("d").is_none(), "no private part: {jwk}");
        let public = DecodingKey::from_ed_pem(pair.public_pem.as_bytes()).unwrap();
        let expected = Jwk::from_decoding_key(&public, Some(Algorithm::EdDSA)).unwrap();
        assert_eq!(jwk["x"], serde_json::to_value(expected).unwrap()["x"]);
    }

    #[test]
    fn a_token_names_the_key_id_in_its_header() {
        let pair = SigningKeyPair::generate().unwrap();
        let issuer = TokenIssuer::new(&pair.private_pem, "shop", "shop").unwrap();
        let header = jsonwebtoken::decode_header(issuer.staff("ops")).unwrap();
        assert_eq!((header.alg, header.kid), (Algorithm::EdDSA, None));
        let header = jsonwebtoken::decode_header(issuer.with_key_id("k1").staff("ops")).unwrap();
        assert_eq!(header.kid.as_deref(), Some("k1"));
    }

    #[test]
    fn a_key_that_is_not_ed25519_is_refused() {
        let error = TokenIssuer::new(&SecretString::from("not a key"), "shop", "shop")
            .err()
            .expect("refused");
        assert!(error.to_string().contains("Ed25519"), "{error}");
    }

    #[cfg(unix)]
    #[test]
    fn the_private_key_is_readable_by_its_owner_only_even_over_an_older_file() {
        use std::os::unix::fs::PermissionsExt;
        let folder = std::env::temp_dir().join(format!("kit-keys-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&folder).unwrap();
        let private = folder.join(PRIVATE_KEY_FILE);
        std::fs::write(&private, "old").unwrap();
        std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o644)).unwrap();
        SigningKeyPair::generate()
            .unwrap()
            .write_to(&folder)
            .unwrap();
        let mode = std::fs::metadata(&private).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(TokenIssuer::from_folder(&folder, "shop", "shop").is_ok());
        std::fs::remove_dir_all(folder).ok();
    }
}
