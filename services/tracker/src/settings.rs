//! The tracker's own settings, `[service]`: where the RabbitMQ management API is, and where the
//! order service is (for its stalled orders).

use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;

use crate::DEFAULT_SETTINGS;

/// The `[service]` section.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct TrackerSettings {
    pub management: ManagementSettings,
    pub orders: OrdersSettings,
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
