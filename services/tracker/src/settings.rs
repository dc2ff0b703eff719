//! The tracker's own settings, `[service]`: how long it keeps what it recorded, where the
//! RabbitMQ management API is, where the order service is (for its stalled orders), and how its
//! page works on dead letters.

use std::{path::PathBuf, time::Duration};

use secrecy::SecretString;
use serde::Deserialize;

use crate::DEFAULT_SETTINGS;

/// The `[service]` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct TrackerSettings {
    /// How long events and flows are kept after their last activity, in seconds (30 days):
    /// older ones are deleted ([`crate::retention`]).
    pub retention_secs: u64,
    pub management: ManagementSettings,
    pub orders: OrdersSettings,
    pub dead_letters: DeadLetterSettings,
}

impl Default for TrackerSettings {
    fn default() -> Self {
        Self {
            retention_secs: 30 * 24 * 3_600,
            management: ManagementSettings::default(),
            orders: OrdersSettings::default(),
            dead_letters: DeadLetterSettings::default(),
        }
    }
}

impl TrackerSettings {
    pub fn retention(&self) -> Duration {
        Duration::from_secs(self.retention_secs)
    }
}

/// How the page lists and replays dead letters (`GET /dead-letters`,
/// `POST /dead-letters/replay`), through shopctl's library ([`crate::dead_letters`]).
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct DeadLetterSettings {
    /// The audit log every replay appends a line to, shopctl's format (`data/audit.log`,
    /// relative to the working directory: the repository's root under `scripts/run`, so the
    /// same file as shopctl's).
    pub audit_log: PathBuf,
    /// How many messages of one dead-letter queue a listing or a replay reads at most (all held
    /// unacknowledged, and kept in memory, until it ends).
    pub scan_limit: usize,
    /// The broker user dead letters are read and replayed as: the operator that `shopctl broker
    /// provision` makes (`<prefix>operator`), allowed exactly that, which the tracker's own user
    /// is not. Empty: the bus's own user (a development broker where every service is `guest`).
    pub username: String,
    pub password: SecretString,
}

impl Default for DeadLetterSettings {
    fn default() -> Self {
        Self {
            username: String::new(),
            password: SecretString::default(),
            audit_log: PathBuf::from("data/audit.log"),
            scan_limit: 1_000,
        }
    }
}

/// The order service's HTTP API, read for the orders stalled past the deadline of their status
/// (`GET /orders?stalled=true`), which the page marks.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct OrdersSettings {
    /// Base URL of the order service (`http://127.0.0.1:8080`).
    pub url: String,
    /// How long one call may take; the page asks again a few seconds later anyway.
    pub timeout_ms: u64,
}

impl Default for OrdersSettings {
    fn default() -> Self {
        Self {
            url: "http://127.0.0.1:8080".into(),
            timeout_ms: 5_000,
        }
    }
}

impl OrdersSettings {
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }
}

/// The RabbitMQ management HTTP API, read to draw the live topology of the bus's vhost.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct ManagementSettings {
    /// Base URL, without `/api` (`http://127.0.0.1:15672`).
    pub url: String,
    pub username: String,
    /// Never logged: `SecretString` prints as `[REDACTED]`.
    pub password: SecretString,
    /// How long one call may take; the page asks again a few seconds later anyway.
    pub timeout_ms: u64,
}

impl Default for ManagementSettings {
    fn default() -> Self {
        Self {
            url: "http://127.0.0.1:15672".into(),
            username: "guest".into(),
            password: SecretString::from("guest"),
            timeout_ms: 5_000,
        }
    }
}

impl ManagementSettings {
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }
}

pub type Settings = service_kit::Settings<TrackerSettings>;

/// The embedded defaults, then `SHOP_CONFIG_FILE`, then `SHOP__*` and `TRACKER__*` variables.
pub fn load_settings() -> Result<Settings, config::ConfigError> {
    service_kit::configuration::load("tracker", DEFAULT_SETTINGS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_defaults_are_the_built_in_ones() {
        let settings = load_settings().expect("the embedded defaults load");
        let built_in = TrackerSettings::default();
        assert_eq!(settings.service.retention_secs, built_in.retention_secs);
        assert_eq!(settings.service.retention(), Duration::from_secs(2_592_000));
        assert_eq!(
            settings.service.dead_letters.audit_log,
            built_in.dead_letters.audit_log
        );
        assert_eq!(
            settings.service.dead_letters.scan_limit,
            built_in.dead_letters.scan_limit
        );
    }
}
