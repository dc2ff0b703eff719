//! [`AuthSettings`]: the `[auth]` section every service shares (`SHOP__AUTH__*`).

use std::path::PathBuf;

use serde::Deserialize;

/// What a bearer token must say and where the key that verifies it comes from. Exactly one of
/// `public_key_file`, `jwks_file` and `jwks_url` is set; a service with none refuses to start,
/// so that no deployment is open by mistake.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct AuthSettings {
    /// The `iss` a token must carry.
    pub issuer: String,
    /// The `aud` a token must carry (one of its audiences).
    pub audience: String,
    /// A PEM public key (Ed25519, RSA or EC P-256/P-384).
    pub public_key_file: Option<PathBuf>,
    /// A JWKS document on disk.
    pub jwks_file: Option<PathBuf>,
    /// A JWKS document over HTTP (an identity provider's `jwks_uri`); fetched at startup and
    /// again, at most every [`Self::jwks_refresh_secs`], when a token names a key it lacks
    /// (the provider rotated its keys).
    pub jwks_url: Option<String>,
    /// The least time between two fetches of `jwks_url`, in seconds.
    pub jwks_refresh_secs: u64,
    /// How far the clocks of the issuer and the service may disagree, in seconds, for `exp`
    /// and `nbf`.
    pub leeway_secs: u64,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            issuer: "shop".into(),
            audience: "shop".into(),
            public_key_file: None,
            jwks_file: None,
            jwks_url: None,
            jwks_refresh_secs: 60,
            leeway_secs: 30,
        }
    }
}
