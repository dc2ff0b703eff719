//! The run's bearer tokens. Every endpoint the load calls, but the open ones (health, metrics),
//! wants one (issue 14), verified by the services against a public key they are given.
//!
//! `scripts/bench` makes a key pair per run with [`make_key`] (`loadgen keys`) in a folder only
//! its owner can read, hands the services its public half (`SHOP__AUTH__PUBLIC_KEY_FILE`) and
//! `loadgen run` the folder, whose private half signs [`Tokens`]: a staff token for the catalog
//! and one token per customer of the load, all made once before it starts. Signing is cheap
//! (Ed25519, microseconds), but done per request it would still be the load generator's work
//! inside the measured latency; made up front, a request only copies a header.

use std::path::Path;

use anyhow::Context;
use service_kit::auth::{SigningKeyPair, TokenIssuer};

/// The issuer and audience the services expect by default (`auth.issuer`, `auth.audience`);
/// `scripts/bench` does not change them.
const ISSUER: &str = "shop";
const AUDIENCE: &str = "shop";

/// Makes a fresh key pair in `dir`, which is created readable by its owner only (the private
/// key file is made so too, by [`SigningKeyPair::write_to`]).
pub fn make_key(dir: &Path) -> anyhow::Result<()> {
    create_private_dir(dir)?;
    SigningKeyPair::generate()?.write_to(dir)?;
    Ok(())
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("Failed to create {}", dir.display()))
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("Failed to create {}", dir.display()))
}

/// The tokens of one run.
pub struct Tokens {
    staff: String,
    /// Indexed by customer number (see [`crate::journey::customer`]).
    customers: Vec<String>,
}

impl Tokens {
    /// Signs, with the private key in `key_dir`, a staff token and a token for each of the
    /// first `customers` customers of the load.
    pub fn sign(key_dir: &Path, customers: u64) -> anyhow::Result<Self> {
        let issuer = TokenIssuer::from_folder(key_dir, ISSUER, AUDIENCE)?;
        Ok(Self {
            staff: issuer.staff("loadgen"),
            customers: (0..customers)
                .map(|number| issuer.customer(&crate::journey::customer(number)))
                .collect(),
        })
    }

    /// The staff token: for the catalog.
    pub fn staff(&self) -> &str {
        &self.staff
    }

    /// The token of customer `number` (modulo the customers signed for).
    pub fn customer(&self, number: u64) -> &str {
        &self.customers[(number % self.customers.len() as u64) as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_made_key_signs_a_token_per_customer() {
        let dir = std::env::temp_dir().join(format!("loadgen-key-{}", uuid::Uuid::new_v4()));
        make_key(&dir).unwrap();
        let tokens = Tokens::sign(&dir, 3).unwrap();
        assert_eq!(tokens.customer(1), tokens.customer(4), "wraps around");
        assert_ne!(tokens.customer(0), tokens.customer(1));
        assert_ne!(tokens.staff(), tokens.customer(0));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o700, "only the owner reads the key folder");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
