//! Delivery over SMTP through lettre.

use lettre::{AsyncSmtpTransport, Tokio1Executor, transport::smtp::authentication::Credentials};
use secrecy::ExposeSecret;

use crate::settings::SmtpSettings;

/// A transport to `host:port` without TLS (`builder_dangerous`): the shop's relay sits next to
/// it, and a relay reached over the internet would need `relay()`/`starttls_relay()` instead.
/// Credentials are sent only when a username is set; the password leaves its `SecretString`
/// only here, into lettre.
pub(super) fn transport(settings: &SmtpSettings) -> AsyncSmtpTransport<Tokio1Executor> {
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&settings.host)
        .port(settings.port)
        .timeout(Some(settings.timeout()));
    if !settings.username.is_empty() {
        builder = builder.credentials(Credentials::new(
            settings.username.clone(),
            settings.password.expose_secret().to_owned(),
        ));
    }
    builder.build()
}
