//! TLS to the broker (AMQPS): which certificate authority to trust, and who the client is.
//!
//! Off by default, because a local broker listens in plain on 5672. When on, the bus connects
//! with scheme `amqps` to `host:port` (RabbitMQ's TLS listener is usually 5671) and accepts the
//! broker only if its certificate names `host` (a DNS name or an IP address in its subject
//! alternative names) and chains to `ca_file`, or to the system's roots when none is given. A
//! client certificate is only sent when one is configured, for a broker that asks for one
//! (`ssl_options.verify = verify_peer`).
//!
//! The files are read at every connection attempt, not once at startup: a renewed certificate
//! is taken at the next reconnect, and a file that is missing at first is reported with each
//! attempt (naming the file) instead of ending the service.
//!
//! The TLS library is rustls (see the root `Cargo.toml`), so no system OpenSSL is involved.

use std::path::{Path, PathBuf};

use lapin::tcp::{OwnedIdentity, OwnedTLSConfig};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// `bus.broker.tls`: whether and how the link to the broker is encrypted.
///
/// `Debug` is safe to log: the PKCS#12 password is a [`SecretString`], and the files are only
/// named, never read into this struct.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct BrokerTls {
    /// Connect over TLS (`amqps`). Off: plain AMQP, and every other field is ignored.
    pub enabled: bool,
    /// PEM file of the CA certificate(s) that signed the broker's certificate, trusted on top of
    /// the system's roots; without it only the system's roots are trusted (a broker with a
    /// public certificate).
    pub ca_file: Option<PathBuf>,
    /// PEM file of the client's certificate (chain), for a broker that verifies its clients;
    /// needs `client_key_file` too.
    pub client_cert_file: Option<PathBuf>,
    /// PEM file of the client certificate's private key (PKCS#8, PKCS#1 or SEC1), unencrypted:
    /// protect it with file permissions.
    pub client_key_file: Option<PathBuf>,
    /// The client's certificate and key as one PKCS#12 (`.p12`/`.pfx`) file instead of the two
    /// PEM files.
    pub pkcs12_file: Option<PathBuf>,
    /// The password of `pkcs12_file`; none for an unencrypted one.
    pub pkcs12_password: Option<SecretString>,
}

/// Why the TLS settings could not be turned into a client configuration; each names the file or
/// the setting to fix.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("could not read the {what} {}: {source}", path.display())]
    Read {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the {what} {} holds no PEM block `-----BEGIN {label}`", path.display())]
    NotPem {
        what: &'static str,
        path: PathBuf,
        label: &'static str,
    },
    #[error("bus.broker.tls: {0}")]
    Inconsistent(&'static str),
}

/// A connection over TLS that failed: most often the broker's certificate, which names another
/// host or chains to another CA than the one trusted.
#[derive(Debug, thiserror::Error)]
#[error(
    "could not connect to the broker at {endpoint} over TLS (its certificate must name the host \
     and chain to {trusted}): {source}"
)]
pub struct TlsConnectError {
    /// Host, port and vhost; never the password.
    pub endpoint: String,
    /// The CA file or the system's roots.
    pub trusted: String,
    #[source]
    pub source: lapin::Error,
}

impl BrokerTls {
    /// The client configuration lapin connects with: the CA file's certificates as extra
    /// roots, and the client's identity if one is configured.
    ///
    /// The result holds the key (and a PKCS#12 password) in plain and derives `Debug`: it is
    /// handed straight to lapin and never logged.
    pub(crate) fn client_config(&self) -> Result<OwnedTLSConfig, TlsError> {
        let cert_chain = match &self.ca_file {
            Some(path) => Some(read_pem(path, "CA file", "CERTIFICATE")?),
            None => None,
        };
        let identity = match (
            &self.client_cert_file,
            &self.client_key_file,
            &self.pkcs12_file,
        ) {
            (None, None, None) => None,
            (Some(cert), Some(key), None) => Some(OwnedIdentity::PKCS8 {
                pem: read_pem(cert, "client certificate file", "CERTIFICATE")?.into_bytes(),
                key: read_pem(key, "client key file", "")?.into_bytes(),
            }),
            (None, None, Some(pkcs12)) => Some(OwnedIdentity::PKCS12 {
                der: read(pkcs12, "PKCS#12 file")?,
                password: self
                    .pkcs12_password
                    .as_ref()
                    .map(|password| password.expose_secret().to_owned())
                    .unwrap_or_default(),
            }),
            (Some(_), None, None) | (None, Some(_), None) => {
                return Err(TlsError::Inconsistent(
                    "client_cert_file and client_key_file go together: set both or neither",
                ));
            }
            (_, _, Some(_)) => {
                return Err(TlsError::Inconsistent(
                    "pkcs12_file replaces client_cert_file and client_key_file: set one or the other",
                ));
            }
        };
        Ok(OwnedTLSConfig {
            identity,
            cert_chain,
        })
    }

    /// What the broker's certificate must chain to, for error messages.
    pub(crate) fn trusted(&self) -> String {
        match &self.ca_file {
            Some(path) => format!("the CA file {} and the system's roots", path.display()),
            None => "the system's roots (no ca_file set)".to_owned(),
        }
    }
}

fn read(path: &Path, what: &'static str) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        what,
        path: path.to_owned(),
        source,
    })
}

/// Reads a PEM file and checks that it has a block of `label` (any block for `""`): rustls skips
/// what it cannot parse, so a wrong file would otherwise surface only as an unknown issuer at
/// the handshake.
fn read_pem(path: &Path, what: &'static str, label: &'static str) -> Result<String, TlsError> {
    let text = String::from_utf8(read(path, what)?).unwrap_or_default();
    if !text.contains(&format!("-----BEGIN {label}")) {
        return Err(TlsError::NotPem {
            what,
            path: path.to_owned(),
            label,
        });
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_file(name: &str, content: &str) -> PathBuf {
        let path = std::env::temp_dir().join(format!("{}-{name}", uuid::Uuid::new_v4()));
        std::fs::write(&path, content).expect("write a temporary file");
        path
    }

    #[test]
    fn a_missing_ca_file_is_named() {
        let tls = BrokerTls {
            enabled: true,
            ca_file: Some("/nonexistent/ca.pem".into()),
            ..BrokerTls::default()
        };
        let error = tls.client_config().unwrap_err().to_string();
        assert!(error.contains("CA file /nonexistent/ca.pem"), "{error}");
    }

    #[test]
    fn a_ca_file_without_a_certificate_is_refused() {
        let path = temp_file("ca.pem", "not a certificate\n");
        let tls = BrokerTls {
            enabled: true,
            ca_file: Some(path.clone()),
            ..BrokerTls::default()
        };
        let error = tls.client_config().unwrap_err().to_string();
        std::fs::remove_file(&path).ok();
        assert!(error.contains("holds no PEM block"), "{error}");
    }

    #[test]
    fn a_client_certificate_without_its_key_is_refused() {
        let tls = BrokerTls {
            enabled: true,
            client_cert_file: Some("/some/cert.pem".into()),
            ..BrokerTls::default()
        };
        let error = tls.client_config().unwrap_err().to_string();
        assert!(error.contains("set both or neither"), "{error}");
    }

    #[test]
    fn debug_output_never_shows_the_pkcs12_password() {
        let tls = BrokerTls {
            pkcs12_password: Some(SecretString::from("hunter2")),
            ..BrokerTls::default()
        };
        assert!(!format!("{tls:?}").contains("hunter2"));
    }
}
