//! Loyalty's settings: the kit's shared sections, and no `[service]` section of its own.

use crate::DEFAULT_SETTINGS;

/// Everything loyalty is configured with.
pub type Settings = service_kit::Settings<()>;

/// Loads the settings from the embedded defaults, `SHOP_CONFIG_FILE` and the `SHOP__*` and
/// `LOYALTY__*` environment variables.
pub fn load_settings() -> Result<Settings, config::ConfigError> {
    service_kit::configuration::load("loyalty", DEFAULT_SETTINGS)
}
