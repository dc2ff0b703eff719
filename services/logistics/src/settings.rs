//! The logistics service's settings: the kit's shared sections plus `[service]`.

use serde::Deserialize;

use crate::DEFAULT_SETTINGS;

/// The `[service]` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct LogisticsSettings {
    /// Units on hand of a SKU never seen before: SKUs are created on first use, not registered.
    pub default_stock: u32,
    /// A reservation that leaves fewer units than this available asks the supplier for more.
    pub replenish_threshold: u32,
    /// Units asked of the supplier per replenishment.
    pub replenish_quantity: u32,
    /// How long the supplier takes to deliver, in milliseconds.
    pub replenish_delay_ms: u64,
    /// How often the supplier looks for due deliveries, in milliseconds.
    pub supplier_interval_ms: u64,
}

impl Default for LogisticsSettings {
    fn default() -> Self {
        Self {
            default_stock: 100,
            replenish_threshold: 10,
            replenish_quantity: 100,
            replenish_delay_ms: 5_000,
            supplier_interval_ms: 250,
        }
    }
}

/// Everything logistics is configured with.
pub type Settings = service_kit::Settings<LogisticsSettings>;

/// Loads the settings from the embedded defaults, `SHOP_CONFIG_FILE` and the `SHOP__*` and
/// `LOGISTICS__*` environment variables.
pub fn load_settings() -> Result<Settings, config::ConfigError> {
    service_kit::configuration::load("logistics", DEFAULT_SETTINGS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_defaults_name_the_service_and_give_the_stock_policy() {
        let settings = load_settings().expect("defaults load");
        assert_eq!(settings.bus.service, "logistics");
        let service = settings.service;
        assert_eq!(service.default_stock, 100);
        assert_eq!(service.replenish_threshold, 10);
        assert_eq!(service.replenish_quantity, 100);
        assert_eq!(service.replenish_delay_ms, 5_000);
        assert_eq!(service.supplier_interval_ms, 250);
    }
}
