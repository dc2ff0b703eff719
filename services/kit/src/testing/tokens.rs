//! Bearer tokens for tests: one signing key pair per test process, its public half in a file
//! every [`super::TestApp`] is configured with, and the issuer that signs with the private half.

use std::path::PathBuf;
use std::sync::OnceLock;

use crate::auth::{AuthSettings, SigningKeyPair, TokenIssuer};

/// The issuer and audience test tokens carry (the services' defaults).
const ISSUER: &str = "shop";
const AUDIENCE: &str = "shop";

/// The process's test key: [`TestKey::issuer`] signs, [`TestKey::auth_settings`] verifies.
pub struct TestKey {
    pub issuer: TokenIssuer,
    pub public_key_file: PathBuf,
}

impl TestKey {
    /// The key of this test process, made on first use.
    pub fn shared() -> &'static Self {
        static KEY: OnceLock<TestKey> = OnceLock::new();
        KEY.get_or_init(|| {
            let pair = SigningKeyPair::generate().expect("an Ed25519 key pair");
            let folder = std::env::temp_dir().join(format!("shop-test-key-{}", std::process::id()));
            pair.write_to(&folder).expect("write the test key pair");
            Self {
                issuer: TokenIssuer::new(&pair.private_pem, ISSUER, AUDIENCE)
                    .expect("an issuer for the test key"),
                public_key_file: folder.join(crate::auth::issuer::PUBLIC_KEY_FILE),
            }
        })
    }

    /// Settings that verify this key's tokens.
    pub fn auth_settings(&self) -> AuthSettings {
        AuthSettings {
            issuer: ISSUER.into(),
            audience: AUDIENCE.into(),
            public_key_file: Some(self.public_key_file.clone()),
            ..AuthSettings::default()
        }
    }
}
