//! `shopctl broker provision`: a broker user per service, with exactly what its wiring needs.
//!
//! The identities come from the contracts' catalog ([`contracts::catalog::topology`]), which a
//! flow test holds equal to each service's real wiring, so a binding added to a service changes
//! its permissions at the next provisioning and nowhere else:
//!
//! - one user per service, `<prefix><service>`, allowed [`Permissions::of`] its topology; the
//!   tracker's has the `monitoring` tag too, to read the management API's view of the vhost;
//! - `<prefix>operator`, for `shopctl dead` and the tracker's replays: it may read the
//!   dead-letter queues and write to each service's retry path (a replay), nothing else; tag
//!   `management`, to list the queues of its vhost.
//!
//! Provisioning creates or updates users, permissions and the shop's exchanges through the
//! management API, as an administrator, and can be run again at any time: it changes nothing
//! that is already right. Each password is read from `<secrets>/<user>.password`, made with 32
//! random bytes on first run, readable by its owner only; rotating one is writing a new file and
//! provisioning again (then restarting the service that uses it).
//!
//! [`definitions`] prints the same as a RabbitMQ definitions document (`rabbitmqctl
//! import_definitions`, or `load_definitions` in a node's configuration), passwords only as
//! salted SHA-256 hashes.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use contracts::catalog;
use event_bus::{management::Management, permissions::Permissions};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// The operator's user name, after the prefix.
pub const OPERATOR: &str = "operator";

/// One broker user of the shop and what it may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub user: String,
    /// Management API tags (`monitoring`, `management`), or none.
    pub tags: &'static str,
    pub permissions: Permissions,
}

/// Every identity of the shop, users named `<prefix><service>` and `<prefix>operator`.
pub fn identities(prefix: &str) -> Vec<Identity> {
    let mut identities: Vec<Identity> = catalog::services()
        .into_iter()
        .map(|service| Identity {
            user: format!("{prefix}{service}"),
            tags: if service == catalog::TRACKER {
                "monitoring"
            } else {
                ""
            },
            permissions: Permissions::of(&catalog::topology(service)),
        })
        .collect();
    identities.push(Identity {
        user: format!("{prefix}{OPERATOR}"),
        tags: "management",
        permissions: operator_permissions(),
    });
    identities
}

/// Read every dead-letter queue, write every retry path ([`Permissions::operator`]).
fn operator_permissions() -> Permissions {
    let queues: Vec<String> = catalog::services()
        .into_iter()
        .filter_map(|service| catalog::topology(service).queue)
        .collect();
    Permissions::operator(&queues)
}

/// The exchanges of the shop: every producer's.
pub fn exchanges() -> Vec<String> {
    let mut exchanges: Vec<String> = catalog::all()
        .into_iter()
        .map(|event| event.exchange.to_owned())
        .collect();
    exchanges.sort();
    exchanges.dedup();
    exchanges
}

/// The password of `user`, from `<secrets>/<user>.password`; made on first use.
pub fn password(secrets: &Path, user: &str) -> Result<SecretString> {
    let path = secrets.join(format!("{user}.password"));
    let failed = |source: std::io::Error| Error::Secret {
        path: path.clone(),
        source,
    };
    match std::fs::read_to_string(&path) {
        Ok(text) if !text.trim().is_empty() => return Ok(SecretString::from(text.trim())),
        Ok(_) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => return Err(failed(error)),
    }
    std::fs::create_dir_all(secrets).map_err(failed)?;
    crate::token::restrict_folder(secrets).map_err(failed)?;
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|error| failed(std::io::Error::other(error)))?;
    let made: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    service_kit::auth::issuer::write_private(&path, &made).map_err(failed)?;
    Ok(SecretString::from(made))
}

/// What [`provision`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provisioned {
    pub users: Vec<String>,
    pub exchanges: Vec<String>,
}

/// Creates or updates every identity of the shop in `vhost`, with its password from `secrets`,
/// and declares the shop's exchanges, through `management` (an administrator's client).
pub async fn provision(
    management: &Management,
    vhost: &str,
    prefix: &str,
    secrets: &Path,
) -> Result<Provisioned> {
    let failed = |what: String| move |source| Error::Provision { what, source };
    management
        .create_vhost(vhost)
        .await
        .map_err(failed(format!("create vhost {vhost:?}")))?;
    let exchanges = exchanges();
    for exchange in &exchanges {
        management
            .declare_exchange(vhost, exchange)
            .await
            .map_err(failed(format!("declare exchange {exchange:?}")))?;
    }
    let mut users = Vec::new();
    for identity in identities(prefix) {
        let password = password(secrets, &identity.user)?;
        management
            .put_user_tagged(&identity.user, &password, identity.tags)
            .await
            .map_err(failed(format!("create or update user {:?}", identity.user)))?;
        management
            .set_permissions(vhost, &identity.user, &identity.permissions)
            .await
            .map_err(failed(format!(
                "set the permissions of {:?}",
                identity.user
            )))?;
        users.push(identity.user);
    }
    Ok(Provisioned { users, exchanges })
}

/// The same as [`provision`], as a RabbitMQ definitions document.
pub fn definitions(vhost: &str, prefix: &str, secrets: &Path) -> Result<Value> {
    let identities = identities(prefix);
    let mut users = Vec::new();
    for identity in &identities {
        let password = password(secrets, &identity.user)?;
        let tags: Vec<&str> = identity.tags.split(',').filter(|t| !t.is_empty()).collect();
        users.push(json!({
            "name": identity.user,
            "password_hash": password_hash(&password)?,
            "hashing_algorithm": "rabbit_password_hashing_sha256",
            "tags": tags,
        }));
    }
    let permissions: Vec<Value> = identities
        .iter()
        .map(|identity| {
            json!({
                "user": identity.user,
                "vhost": vhost,
                "configure": identity.permissions.configure,
                "write": identity.permissions.write,
                "read": identity.permissions.read,
            })
        })
        .collect();
    let topic_permissions: Vec<Value> = identities
        .iter()
        .flat_map(|identity| {
            identity.permissions.topics.iter().map(|topic| {
                json!({
                    "user": identity.user,
                    "vhost": vhost,
                    "exchange": topic.exchange,
                    "write": topic.write,
                    "read": topic.read,
                })
            })
        })
        .collect();
    let exchanges: Vec<Value> = exchanges()
        .into_iter()
        .map(|name| {
            json!({"name": name, "vhost": vhost, "type": "topic", "durable": true,
                   "auto_delete": false, "internal": false, "arguments": {}})
        })
        .collect();
    Ok(json!({
        "users": users,
        "vhosts": [{"name": vhost}],
        "permissions": permissions,
        "topic_permissions": topic_permissions,
        "exchanges": exchanges,
    }))
}

/// RabbitMQ's `rabbit_password_hashing_sha256`: base64 of a 4-byte salt followed by
/// SHA-256(salt ‖ password).
fn password_hash(password: &SecretString) -> Result<String> {
    let mut salted = [0u8; 4].to_vec();
    getrandom::fill(&mut salted).map_err(|error| Error::Secret {
        path: PathBuf::from("(salt)"),
        source: std::io::Error::other(error),
    })?;
    let digest = Sha256::new()
        .chain_update(&salted)
        .chain_update(password.expose_secret().as_bytes())
        .finalize();
    salted.extend_from_slice(&digest);
    Ok(base64::engine::general_purpose::STANDARD.encode(salted))
}

#[cfg(test)]
mod tests {
    use event_bus::permissions::NOTHING;

    use super::*;

    #[test]
    fn every_service_has_a_user_and_the_operator_touches_only_dead_letters_and_retry_paths() {
        let identities = identities("shop-");
        let users: Vec<&str> = identities.iter().map(|i| i.user.as_str()).collect();
        for user in [
            "shop-order",
            "shop-billing",
            "shop-logistics",
            "shop-mailer",
        ] {
            assert!(users.contains(&user), "{users:?}");
        }
        assert!(users.contains(&"shop-tracker") && users.contains(&"shop-operator"));
        let operator = identities.last().unwrap();
        assert_eq!(operator.permissions.configure, NOTHING);
        assert!(operator.permissions.read.contains(r"billing\.queue\.dead"));
        assert!(!operator.permissions.read.contains(r"billing\.queue|"));
        assert!(
            operator
                .permissions
                .write
                .contains(r"billing\.queue\.retry")
        );
        let billing = identities
            .iter()
            .find(|i| i.user == "shop-billing")
            .unwrap();
        assert_eq!(billing.tags, "");
        assert_eq!(billing.permissions.topics[0].write, r"^billing\.");
    }

    #[test]
    fn a_password_is_made_once_owner_only_and_then_kept() {
        let secrets = std::env::temp_dir().join(format!("shopctl-{}", uuid::Uuid::new_v4()));
        let first = password(&secrets, "shop-order").unwrap();
        let again = password(&secrets, "shop-order").unwrap();
        assert_eq!(first.expose_secret(), again.expose_secret());
        assert_eq!(first.expose_secret().len(), 64);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&secrets.join("shop-order.password")), 0o600);
            assert_eq!(mode(&secrets), 0o700);
        }
        std::fs::remove_dir_all(&secrets).unwrap();
    }

    #[test]
    fn the_definitions_hash_the_passwords_as_rabbitmq_does() {
        let password = SecretString::from("test12");
        let hash = base64::engine::general_purpose::STANDARD
            .decode(password_hash(&password).unwrap())
            .unwrap();
        let (salt, digest) = hash.split_at(4);
        let expected = Sha256::new()
            .chain_update(salt)
            .chain_update(b"test12")
            .finalize();
        assert_eq!(digest, expected.as_slice());
    }
}
