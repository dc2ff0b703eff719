//! The suite's signing key (issue 14: every HTTP endpoint of the shop but health and metrics
//! wants a bearer token). One Ed25519 key pair per suite run, made in a folder of the suite's
//! own under `<tmp>/fault-suite` that only its owner can read, removed when the suite ends (and
//! [reaped](crate::leftovers::reap) after a run killed before that). Every service process
//! verifies tokens with its public half (`SHOP__AUTH__PUBLIC_KEY_FILE`); the suite signs one
//! staff token with the private half, which its clients send everywhere: stock and credit set
//! up, the catalog seeded, orders placed on behalf of the [mix](crate::mix)'s customers (staff
//! may order for a customer named in the body), and the APIs read for the invariants.

use std::{fmt, path::PathBuf};

use service_kit::auth::{SigningKeyPair, TokenIssuer, issuer::PUBLIC_KEY_FILE};

use crate::leftovers;

/// The issuer and audience the services expect by default (`auth.issuer`, `auth.audience`).
const ISSUER: &str = "shop";
const AUDIENCE: &str = "shop";

/// The key pair's folder; dropping it removes the folder.
pub struct SuiteKey {
    dir: PathBuf,
    credentials: Credentials,
}

/// What the scenarios need of the key: where its public half is, and the staff token.
#[derive(Clone)]
pub struct Credentials {
    /// The PEM every service verifies tokens with.
    pub public_key_file: PathBuf,
    staff_token: String,
}

impl SuiteKey {
    /// Makes the pair in a fresh folder and signs the staff token.
    pub fn generate() -> anyhow::Result<Self> {
        let dir = leftovers::claim_dir("signing-key")?;
        make_private(&dir)?;
        let pair = SigningKeyPair::generate()?;
        pair.write_to(&dir)?;
        let issuer = TokenIssuer::new(&pair.private_pem, ISSUER, AUDIENCE)?;
        Ok(Self {
            credentials: Credentials {
                public_key_file: dir.join(PUBLIC_KEY_FILE),
                staff_token: issuer.staff("fault-suite"),
            },
            dir,
        })
    }

    pub fn credentials(&self) -> Credentials {
        self.credentials.clone()
    }
}

impl Drop for SuiteKey {
    fn drop(&mut self) {
        leftovers::remove_dir(&self.dir);
    }
}

impl Credentials {
    /// The bearer token of the suite's staff member (valid 12 h, longer than any run).
    pub fn staff_token(&self) -> &str {
        &self.staff_token
    }
}

/// The token stays out of logs and reports.
impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("public_key_file", &self.public_key_file)
            .field("staff_token", &"[redacted]")
            .finish()
    }
}

#[cfg(unix)]
fn make_private(dir: &std::path::Path) -> anyhow::Result<()> {
    use anyhow::Context;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .with_context(|| format!("Failed to make {} private", dir.display()))
}

#[cfg(not(unix))]
fn make_private(_dir: &std::path::Path) -> anyhow::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_folder_holds_both_halves_and_goes_with_the_key() {
        let key = SuiteKey::generate().unwrap();
        let credentials = key.credentials();
        let dir = key.dir.clone();
        assert!(credentials.public_key_file.exists());
        assert!(
            dir.join(service_kit::auth::issuer::PRIVATE_KEY_FILE)
                .exists()
        );
        assert!(!format!("{credentials:?}").contains(credentials.staff_token()));
        drop(key);
        assert!(!dir.exists());
    }
}
