//! How an email leaves the mailer: over SMTP when a server is configured, otherwise as an
//! `.eml` file in the data folder (what a developer's machine and the tests without a mail
//! server use). Both are lettre transports; this enum picks one at startup.

mod files;
mod smtp;

use anyhow::Context;
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::settings::MailerSettings;

/// The configured transport.
#[derive(Clone)]
pub enum Mailer {
    /// An SMTP server, plain or over TLS (see [`smtp::transport`]).
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// `<uuid>.eml` files in the data folder.
    Files(AsyncFileTransport<Tokio1Executor>),
}

impl Mailer {
    /// SMTP when `[service.smtp]` has a host, files in `data_dir` (created if missing) otherwise.
    /// An unreadable CA file fails here, at startup. Nothing is contacted yet: a mail server that is down at startup delays emails (their
    /// messages are retried), not the service.
    pub async fn from_settings(settings: &MailerSettings) -> anyhow::Result<Self> {
        match settings.smtp_server() {
            Some(server) => {
                let transport = smtp::transport(server)?;
                tracing::info!(host = %server.host, port = server.port, tls = ?server.tls, "sending emails over SMTP");
                Ok(Self::Smtp(transport))
            }
            None => {
                let transport = files::transport(&settings.data_dir).await?;
                tracing::info!(dir = %settings.data_dir.display(), "writing emails as .eml files");
                Ok(Self::Files(transport))
            }
        }
    }

    /// Hands `message` over: accepted by the SMTP server, or written to its file.
    pub async fn send(&self, message: &Message) -> anyhow::Result<()> {
        match self {
            Self::Smtp(transport) => transport
                .send(message.clone())
                .await
                .map(drop)
                .context("The SMTP server did not accept the email"),
            Self::Files(transport) => transport
                .send(message.clone())
                .await
                .map(drop)
                .context("Failed to write the email file"),
        }
    }
}
