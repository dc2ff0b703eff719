//! The mailer's own settings, the `[service]` section.

use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;

use crate::DEFAULT_SETTINGS;

/// Everything the mailer is configured with: the kit's shared sections and [`MailerSettings`].
pub type Settings = service_kit::Settings<MailerSettings>;

/// Loads the mailer's settings: embedded defaults, `SHOP_CONFIG_FILE`, `SHOP__*`, `MAILER__*`.
pub fn load_settings() -> Result<Settings, config::ConfigError> {
    service_kit::configuration::load("mailer", DEFAULT_SETTINGS)
}

/// `[service]`: who the emails are from and how they leave.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct MailerSettings {
    /// Where emails are written as `.eml` files when no SMTP server is configured, so a
    /// developer can read what the customers would have received; created if missing.
    pub data_dir: PathBuf,
    /// The `From` address; its domain also names the emails' `Message-ID`s.
    pub from: String,
    /// The SMTP server, if any: with a host set, emails go there instead of into `data_dir`.
    pub smtp: Option<SmtpSettings>,
}

impl Default for MailerSettings {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("data/mail"),
            from: "shop@example.com".into(),
            smtp: None,
        }
    }
}

impl MailerSettings {
    /// The SMTP server to send through: only when a host is set, so that an `[service.smtp]`
    /// section with an empty host (say, from an unset environment variable) means "files".
    pub fn smtp_server(&self) -> Option<&SmtpSettings> {
        self.smtp
            .as_ref()
            .filter(|smtp| !smtp.host.trim().is_empty())
    }
}

/// `[service.smtp]`: the SMTP server, plain by default (a relay on the same host or network).
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct SmtpSettings {
    /// The server's name or address; with TLS, the name its certificate must carry.
    pub host: String,
    /// 25 for a plain relay, usually 587 for `starttls` and 465 for `tls`.
    pub port: u16,
    /// Empty: send without authenticating.
    pub username: String,
    /// Never logged: `SecretString` prints as `[REDACTED]`.
    pub password: SecretString,
    /// How long one SMTP command may take. The handler's transaction stays open while it
    /// waits, so this is short, and a slow server means a retry rather than a stuck consumer.
    pub timeout_secs: u64,
    /// Whether the connection is encrypted: `none`, `starttls` or `tls`. Credentials cross a
    /// plain connection in the clear, so a server beyond the local network wants one of the
    /// other two.
    pub tls: SmtpTls,
    /// PEM file of the CA certificate(s) the server's certificate must chain to, trusted on top
    /// of the system's roots (a relay with a certificate of the company's own CA); ignored
    /// without TLS.
    pub ca_file: Option<PathBuf>,
}

/// How the mailer encrypts its SMTP connection. With either form of TLS the server's
/// certificate must name `host` and chain to a trusted CA, else no email is sent (it is
/// retried): there is no mode that encrypts without checking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain SMTP.
    #[default]
    None,
    /// Plain at first, then `STARTTLS` before anything else is said (submission, port 587);
    /// a server that does not offer it is refused rather than spoken to in plain.
    Starttls,
    /// TLS from the first byte (implicit TLS, SMTPS, port 465).
    Tls,
}

impl Default for SmtpSettings {
    fn default() -> Self {
        Self {
            host: String::new(),
            port: 25,
            username: String::new(),
            password: SecretString::default(),
            timeout_secs: 10,
            tls: SmtpTls::None,
            ca_file: None,
        }
    }
}

impl SmtpSettings {
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The embedded file alone, so that no variable of the environment can interfere.
    fn embedded() -> config::Config {
        config::Config::builder()
            .add_source(config::File::from_str(
                DEFAULT_SETTINGS,
                config::FileFormat::Toml,
            ))
            .build()
            .expect("the embedded defaults parse")
    }

    #[test]
    fn the_embedded_defaults_write_files_from_the_shop_address() {
        let service: MailerSettings = embedded().get("service").expect("[service] parses");
        assert_eq!(service.data_dir, PathBuf::from("data/mail"));
        assert_eq!(service.from, "shop@example.com");
        assert!(service.smtp_server().is_none());
    }

    #[test]
    fn the_embedded_defaults_retry_a_failed_send_for_minutes() {
        let delays: Vec<u64> = embedded().get("bus.retry_delays_ms").expect("delays parse");
        assert_eq!(delays.first(), Some(&1_000));
        assert_eq!(delays.last(), Some(&600_000));
    }

    #[test]
    fn smtp_is_used_only_when_a_host_is_set() {
        let mut settings = MailerSettings::default();
        assert!(settings.smtp_server().is_none());
        settings.smtp = Some(SmtpSettings::default());
        assert!(
            settings.smtp_server().is_none(),
            "an empty host means files"
        );
        settings.smtp = Some(SmtpSettings {
            host: "mail.internal".into(),
            ..SmtpSettings::default()
        });
        let smtp = settings.smtp_server().expect("a host is set");
        assert_eq!(smtp.port, 25);
        assert_eq!(smtp.timeout(), Duration::from_secs(10));
    }

    #[test]
    fn smtp_tls_is_off_unless_asked_for_by_name() {
        assert_eq!(SmtpSettings::default().tls, SmtpTls::None);
        let parse = |value: &str| {
            config::Config::builder()
                .set_override("smtp.host", "mail.internal")
                .and_then(|builder| builder.set_override("smtp.tls", value))
                .and_then(|builder| builder.build())
                .and_then(|config| config.get::<SmtpSettings>("smtp"))
        };
        assert_eq!(parse("starttls").expect("starttls").tls, SmtpTls::Starttls);
        assert_eq!(parse("tls").expect("tls").tls, SmtpTls::Tls);
        assert!(parse("ssl").is_err(), "an unknown mode is refused");
    }

    #[test]
    fn debug_output_never_shows_the_smtp_password() {
        let smtp = SmtpSettings {
            password: SecretString::from("hunter2"),
            ..SmtpSettings::default()
        };
        assert!(!format!("{smtp:?}").contains("hunter2"));
    }
}
