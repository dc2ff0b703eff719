//! Delivery over SMTP through lettre.

use anyhow::Context;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, Tokio1Executor, transport::smtp::authentication::Credentials};
use secrecy::ExposeSecret;

use crate::settings::{SmtpSettings, SmtpTls};

/// A transport to `host:port`, plain or over TLS as `settings.tls` says. lettre's
/// `builder_dangerous` starts without TLS and without the default port, so both are always
/// chosen here rather than by lettre's defaults. Credentials are sent only when a username is
/// set; the password leaves its `SecretString` only here, into lettre.
pub(super) fn transport(
    settings: &SmtpSettings,
) -> anyhow::Result<AsyncSmtpTransport<Tokio1Executor>> {
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&settings.host)
        .port(settings.port)
        .timeout(Some(settings.timeout()))
        .tls(tls(settings)?);
    if !settings.username.is_empty() {
        builder = builder.credentials(Credentials::new(
            settings.username.clone(),
            settings.password.expose_secret().to_owned(),
        ));
    }
    Ok(builder.build())
}

/// lettre's TLS choice: `Required` for STARTTLS (never falls back to plain), `Wrapper` for
/// implicit TLS; both verify that the certificate names `host` and chains to `ca_file` or the
/// system's roots.
fn tls(settings: &SmtpSettings) -> anyhow::Result<Tls> {
    if settings.tls == SmtpTls::None {
        return Ok(Tls::None);
    }
    let mut parameters = TlsParameters::builder(settings.host.clone());
    if let Some(path) = &settings.ca_file {
        let pem = std::fs::read(path)
            .with_context(|| format!("Failed to read the SMTP CA file {}", path.display()))?;
        let certificate = Certificate::from_pem(&pem).with_context(|| {
            format!(
                "The SMTP CA file {} holds no usable PEM certificate",
                path.display()
            )
        })?;
        parameters = parameters.add_root_certificate(certificate);
    }
    let parameters = parameters
        .build_rustls()
        .with_context(|| format!("Failed to set up TLS to the SMTP server {}", settings.host))?;
    Ok(match settings.tls {
        SmtpTls::Starttls => Tls::Required(parameters),
        SmtpTls::Tls => Tls::Wrapper(parameters),
        SmtpTls::None => Tls::None,
    })
}
