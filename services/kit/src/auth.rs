//! Who is calling: bearer tokens (JWT) verified against the identity provider's public key, and
//! the two roles the shop knows, a customer and staff.
//!
//! A request proves its identity with `Authorization: Bearer <token>`. The token is verified
//! against a public key (a PEM file) or a JWKS document (a file or an `http` URL, as identity
//! providers publish them), never against a shared secret: a service that can verify a token
//! cannot make one. Issuer, audience, expiry and not-before are checked, with a bounded clock
//! skew ([`AuthSettings::leeway_secs`]).
//!
//! - [`settings`]: where the key comes from and what a token must say.
//! - [`claims`]: what the shop reads from a token (`sub`, `roles`) and the [`Role`]s.
//! - [`verifier`]: [`Verifier`], the keys and the checks, built once at startup.
//! - [`identity`]: the extractors handlers take, [`Identity`] (anyone with a valid token) and
//!   [`Staff`]; their failures answer 401 with `WWW-Authenticate`, or 403.
//! - [`issuer`]: [`TokenIssuer`] and [`SigningKeyPair`], the shop's own signing key for a local
//!   system (`scripts/run`, `scripts/shopctl token`) and for tests. A deployment with a real
//!   identity provider uses only the verifying half.
//!
//! Which routes need what is the service's business: a handler that takes no [`Identity`] is
//! open. The kit's own routes (health, metrics, the OpenAPI document and its page) are open;
//! see [`crate::openapi`] for why.

pub mod claims;
pub mod identity;
pub mod issuer;
pub mod settings;
pub mod verifier;

pub use claims::{Claims, Role};
pub use identity::{Identity, Staff};
pub use issuer::{SigningKeyPair, TokenIssuer};
pub use settings::AuthSettings;
pub use verifier::{TokenError, Verifier};
