//! The HTTP listener, bound before the server is built so that a test can bind port 0 and read
//! back the port it got.

use std::net::TcpListener;

use anyhow::Context;

use crate::configuration::ApplicationSettings;

/// Binds `host:port` from the settings; port 0 picks a free port (read it with
/// `listener.local_addr()?.port()`).
pub fn bind(settings: &ApplicationSettings) -> anyhow::Result<TcpListener> {
    let address = settings.address();
    TcpListener::bind(&address).with_context(|| format!("Failed to bind {address}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_zero_binds_a_free_port() {
        let settings = ApplicationSettings {
            host: "127.0.0.1".into(),
            port: 0,
        };
        let listener = bind(&settings).unwrap();
        assert_ne!(listener.local_addr().unwrap().port(), 0);
    }

    #[test]
    fn a_taken_port_is_an_error_naming_the_address() {
        let first = bind(&ApplicationSettings {
            host: "127.0.0.1".into(),
            port: 0,
        })
        .unwrap();
        let port = first.local_addr().unwrap().port();
        let error = bind(&ApplicationSettings {
            host: "127.0.0.1".into(),
            port,
        })
        .unwrap_err();
        assert!(error.to_string().contains(&format!("127.0.0.1:{port}")));
    }
}
