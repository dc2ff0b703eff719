//! The certificate files a private server presents when it is started with TLS (see
//! [`PrivateBroker::start_with_tls`] and [`PrivatePostgres::start_with_tls`]), for tests of the
//! shop's TLS settings against real servers.
//!
//! [`PrivateBroker::start_with_tls`]: crate::broker::PrivateBroker::start_with_tls
//! [`PrivatePostgres::start_with_tls`]: crate::postgres::PrivatePostgres::start_with_tls

use std::path::PathBuf;

/// PEM files; the key unencrypted (a server starts unattended).
#[derive(Debug, Clone)]
pub struct ServerTls {
    /// The CA that client certificates must chain to (RabbitMQ verifies its clients with it).
    pub ca_file: PathBuf,
    /// The server's certificate; it must name the address clients connect to.
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
}
