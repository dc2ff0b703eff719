//! Certificates made at test time with the `openssl` command line, for tests of TLS against
//! real servers (RabbitMQ, PostgreSQL, SMTP).
//!
//! [`TestCertificates::generate`] makes, in a temporary folder of its own:
//!
//! - a CA (`ca.pem`), valid for two days;
//! - a server certificate signed by it for `127.0.0.1` and `localhost` (`server.pem`,
//!   `server.key`), so a client that checks the host name accepts it on either;
//! - a client certificate signed by it (`client.pem`, `client.key`), for a server that verifies
//!   its clients;
//! - another CA (`other-ca.pem`) that signed nothing here: the wrong root a test expects to be
//!   refused with.
//!
//! Keys are ECDSA P-256 (fast to make, understood by rustls, Erlang, PostgreSQL and Python) in
//! unencrypted PKCS#8 PEM. Dropping the value removes the folder; a server that must own its
//! key file (PostgreSQL) gets a copy.

use std::path::{Path, PathBuf};

use tokio::process::Command;
use uuid::Uuid;

/// The extensions of each kind of certificate; `req` needs a distinguished-name section even
/// when the subject is given on the command line.
const OPENSSL_CONFIG: &str = "\
[req]
distinguished_name = dn
prompt = no

[dn]
CN = unused

[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

[client]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
";

/// A folder of freshly made certificates; see the module docs.
pub struct TestCertificates {
    dir: PathBuf,
}

impl TestCertificates {
    /// Makes the CAs and certificates; fails the test, with openssl's own words, if it cannot.
    pub async fn generate() -> Self {
        let dir = std::env::temp_dir().join(format!("shop-certs-{}", Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir)
            .unwrap_or_else(|error| panic!("create {}: {error}", dir.display()));
        let certificates = Self { dir };
        std::fs::write(certificates.path("openssl.cnf"), OPENSSL_CONFIG)
            .expect("write the openssl configuration");
        certificates.self_signed("ca", "shop test CA").await;
        certificates.self_signed("other-ca", "another CA").await;
        certificates.signed("server", "localhost").await;
        certificates.signed("client", "shop test client").await;
        certificates
    }

    /// The CA that signed the server and client certificates.
    pub fn ca_file(&self) -> PathBuf {
        self.path("ca.pem")
    }

    /// A CA that signed none of them: trusting it alone must fail.
    pub fn other_ca_file(&self) -> PathBuf {
        self.path("other-ca.pem")
    }

    /// The server's certificate, for `127.0.0.1` and `localhost`.
    pub fn server_cert_file(&self) -> PathBuf {
        self.path("server.pem")
    }

    pub fn server_key_file(&self) -> PathBuf {
        self.path("server.key")
    }

    /// A client certificate signed by [`Self::ca_file`].
    pub fn client_cert_file(&self) -> PathBuf {
        self.path("client.pem")
    }

    pub fn client_key_file(&self) -> PathBuf {
        self.path("client.key")
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// `<name>.pem` and `<name>.key`: a self-signed CA.
    async fn self_signed(&self, name: &str, common_name: &str) {
        self.openssl(&[
            "req",
            "-x509",
            "-config",
            "openssl.cnf",
            "-extensions",
            "ca",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
            &format!("/CN={common_name}"),
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.pem"),
        ])
        .await;
    }

    /// `<name>.pem` and `<name>.key`: a certificate of kind `name` (the config section) signed
    /// by `ca`.
    async fn signed(&self, name: &str, common_name: &str) {
        self.openssl(&[
            "req",
            "-new",
            "-config",
            "openssl.cnf",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-subj",
            &format!("/CN={common_name}"),
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.csr"),
        ])
        .await;
        let serial = format!("0x{}", Uuid::new_v4().simple());
        self.openssl(&[
            "x509",
            "-req",
            "-in",
            &format!("{name}.csr"),
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-set_serial",
            &serial,
            "-days",
            "2",
            "-extfile",
            "openssl.cnf",
            "-extensions",
            name,
            "-out",
            &format!("{name}.pem"),
        ])
        .await;
    }

    async fn openssl(&self, args: &[&str]) {
        let program = std::env::var("TEST_OPENSSL").unwrap_or_else(|_| "openssl".into());
        let output = Command::new(&program)
            .args(args)
            .current_dir(&self.dir)
            .output()
            .await
            .unwrap_or_else(|error| {
                panic!("cannot run `{program}` ({error}); TLS tests need the openssl CLI")
            });
        assert!(
            output.status.success(),
            "`{program} {}` failed in {}:\n{}",
            args.join(" "),
            self.dir.display(),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// The folder, for a test that copies files out of it.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for TestCertificates {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
