//! Tokens for the system `scripts/run` started: the local signing key (`shopctl key init`) and
//! the bearer tokens signed with it (`shopctl token --customer alice`, `shopctl token --staff`).
//!
//! The services verify tokens with the key's public half only (`auth.public_key_file`); the
//! private half stays in the key folder, readable by its owner alone. A shop behind a real
//! identity provider does not use this: its customers and staff get their tokens there.

use std::path::{Path, PathBuf};
use std::time::Duration;

use service_kit::auth::issuer::{PRIVATE_KEY_FILE, PUBLIC_KEY_FILE};
use service_kit::auth::{Role, SigningKeyPair, TokenIssuer};

use crate::error::{Error, Result};

/// The variable naming the key folder.
pub const KEY_DIR_VAR: &str = "SHOPCTL_KEY_DIR";

/// `data/auth` under the repository, where `scripts/run` keeps the local key.
pub fn default_key_dir() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = manifest.ancestors().nth(2).unwrap_or(manifest);
    root.join("data").join("auth")
}

/// Makes the key pair in `folder` unless one is there; returns the public key's path and
/// whether it was made now. Never replaces a key: tokens already handed out stay valid.
pub fn init_key(folder: &Path) -> Result<(PathBuf, bool)> {
    let public = folder.join(PUBLIC_KEY_FILE);
    if folder.join(PRIVATE_KEY_FILE).exists() && public.exists() {
        return Ok((public, false));
    }
    let failed = |source: anyhow::Error| Error::Key {
        folder: folder.to_owned(),
        message: format!("{source:#}"),
    };
    let pair = SigningKeyPair::generate().map_err(failed)?;
    pair.write_to(folder).map_err(failed)?;
    restrict_folder(folder).map_err(|source| failed(source.into()))?;
    Ok((public, true))
}

/// Who a token is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holder {
    Customer(String),
    Staff(String),
}

/// What a token must say to be accepted by the services.
#[derive(Debug, Clone)]
pub struct TokenRequest {
    pub holder: Holder,
    pub key_dir: PathBuf,
    pub issuer: String,
    pub audience: String,
    pub ttl: Duration,
}

/// A bearer token signed with the key in `request.key_dir`.
pub fn token(request: &TokenRequest) -> Result<String> {
    let issuer = TokenIssuer::from_folder(&request.key_dir, &request.issuer, &request.audience)
        .map_err(|source| Error::Key {
            folder: request.key_dir.clone(),
            message: format!("{source:#} (run `scripts/shopctl key init` or `scripts/run` first)"),
        })?;
    Ok(match &request.holder {
        Holder::Customer(id) => issuer.token(id, &[Role::Customer], request.ttl),
        Holder::Staff(name) => issuer.token(name, &[Role::Staff], request.ttl),
    })
}

/// Only the owner may list or enter the key folder.
#[cfg(unix)]
pub(crate) fn restrict_folder(folder: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(folder, std::fs::Permissions::from_mode(0o700))
}

#[cfg(not(unix))]
pub(crate) fn restrict_folder(_folder: &Path) -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use service_kit::auth::{AuthSettings, Verifier};

    use super::*;

    fn scratch() -> PathBuf {
        std::env::temp_dir().join(format!("shopctl-key-{}", uuid::Uuid::new_v4().simple()))
    }

    #[tokio::test]
    async fn a_token_verifies_against_the_public_half_and_says_who_it_is_for() {
        let folder = scratch();
        let (public, made) = init_key(&folder).unwrap();
        assert!(made);
        let verifier = Verifier::load(&AuthSettings {
            public_key_file: Some(public),
            ..AuthSettings::default()
        })
        .await
        .unwrap();
        let request = |holder| TokenRequest {
            holder,
            key_dir: folder.clone(),
            issuer: "shop".into(),
            audience: "shop".into(),
            ttl: Duration::from_secs(60),
        };
        let claims = verifier
            .verify(&token(&request(Holder::Customer("alice".into()))).unwrap())
            .await
            .unwrap();
        assert_eq!(
            (claims.sub.as_str(), claims.roles),
            ("alice", vec!["customer".to_owned()])
        );
        let claims = verifier
            .verify(&token(&request(Holder::Staff("ops".into()))).unwrap())
            .await
            .unwrap();
        assert_eq!(claims.roles, vec!["staff".to_owned()]);
        std::fs::remove_dir_all(folder).unwrap();
    }

    #[test]
    fn init_keeps_an_existing_key_and_hides_the_private_half() {
        let folder = scratch();
        init_key(&folder).unwrap();
        let before = std::fs::read(folder.join(PRIVATE_KEY_FILE)).unwrap();
        let (_, made) = init_key(&folder).unwrap();
        assert!(!made);
        assert_eq!(
            std::fs::read(folder.join(PRIVATE_KEY_FILE)).unwrap(),
            before
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode =
                |path: PathBuf| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(folder.join(PRIVATE_KEY_FILE)), 0o600);
            assert_eq!(mode(folder.clone()), 0o700);
        }
        std::fs::remove_dir_all(folder).unwrap();
    }
}
