//! The billing service's settings: the kit's shared sections plus `[service]`.

use serde::Deserialize;

use crate::DEFAULT_SETTINGS;

/// The `[service]` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct BillingSettings {
    /// Credit limit, in cents, of a customer billing has never seen: customers are created on
    /// first use rather than registered, so they need a limit to start with.
    pub default_credit_cents: i64,
}

impl Default for BillingSettings {
    fn default() -> Self {
        Self {
            default_credit_cents: 100_000,
        }
    }
}

/// Everything billing is configured with.
pub type Settings = service_kit::Settings<BillingSettings>;

/// Loads the settings from the embedded defaults, `SHOP_CONFIG_FILE` and the `SHOP__*` and
/// `BILLING__*` environment variables.
pub fn load_settings() -> Result<Settings, config::ConfigError> {
    service_kit::configuration::load("billing", DEFAULT_SETTINGS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_defaults_name_the_service_and_give_a_default_credit() {
        let settings = load_settings().expect("defaults load");
        assert_eq!(settings.bus.service, "billing");
        assert_eq!(settings.service.default_credit_cents, 100_000);
    }
}
