//! Where the broker is and who shopctl logs in as: flags, else the environment variables the
//! services read (`SHOP__BUS__BROKER__*`, see `services/kit/src/configuration.rs`), else the local
//! broker with guest/guest.
//!
//! The password is a [`SecretString`]: `--help` shows neither its value nor its default, and no
//! `Debug` output, log line or error contains it. Prefer the environment variable to the flag,
//! which any user of the machine can read in the process list.

use event_bus::BrokerSettings;
use secrecy::SecretString;

/// The broker, its vhost and its management API.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Connection")]
pub struct ConnectionArgs {
    /// The broker's host.
    #[arg(
        long,
        global = true,
        env = "SHOP__BUS__BROKER__HOST",
        default_value = "127.0.0.1"
    )]
    pub host: String,
    /// The broker's AMQP port.
    #[arg(
        long,
        global = true,
        env = "SHOP__BUS__BROKER__PORT",
        default_value_t = 5672
    )]
    pub port: u16,
    /// The vhost the services run in.
    #[arg(
        long,
        global = true,
        env = "SHOP__BUS__BROKER__VHOST",
        default_value = "/"
    )]
    pub vhost: String,
    /// The broker user (AMQP and management API); recorded in the audit log.
    #[arg(
        long = "user",
        global = true,
        env = "SHOP__BUS__BROKER__USERNAME",
        default_value = "guest"
    )]
    pub username: String,
    /// The broker user's password (guest when unset). Never printed.
    #[arg(
        long,
        global = true,
        env = "SHOP__BUS__BROKER__PASSWORD",
        default_value = "guest",
        hide_env_values = true,
        hide_default_value = true,
        value_parser = secret
    )]
    pub password: SecretString,
    /// The management API's base URL, for the names of the vhost's queues.
    #[arg(
        long,
        global = true,
        env = "SHOPCTL__MANAGEMENT__URL",
        default_value = "http://127.0.0.1:15672"
    )]
    pub management_url: String,
}

impl ConnectionArgs {
    /// The broker as the bus describes one.
    pub fn broker_settings(&self) -> BrokerSettings {
        BrokerSettings {
            host: self.host.clone(),
            port: self.port,
            username: self.username.clone(),
            password: self.password.clone(),
            vhost: self.vhost.clone(),
            ..BrokerSettings::default()
        }
    }
}

fn secret(value: &str) -> Result<SecretString, std::convert::Infallible> {
    Ok(SecretString::from(value))
}
