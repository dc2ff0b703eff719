//! The stock policy: the numbers of `[service]`, checked once at startup, and the decision taken
//! with them (whether a SKU needs replenishing).

use anyhow::Context;

use crate::settings::LogisticsSettings;

/// The settings' numbers in the types the database and the events need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StockPolicy {
    /// Units on hand of a SKU seen for the first time.
    pub default_stock: i32,
    /// A SKU left with fewer units available than this is replenished.
    pub replenish_threshold: u32,
    /// Units asked of the supplier per replenishment; more than zero.
    pub replenish_quantity: i32,
    /// How long the supplier takes, in milliseconds.
    pub replenish_delay_ms: i64,
}

impl StockPolicy {
    /// Checks the settings: every quantity must fit the `INTEGER` columns, and a replenishment
    /// must bring something.
    pub fn from_settings(settings: &LogisticsSettings) -> anyhow::Result<Self> {
        let default_stock =
            i32::try_from(settings.default_stock).context("service.default_stock is too large")?;
        let replenish_quantity = i32::try_from(settings.replenish_quantity)
            .context("service.replenish_quantity is too large")?;
        anyhow::ensure!(
            replenish_quantity > 0,
            "service.replenish_quantity must be more than zero"
        );
        let replenish_delay_ms = i64::try_from(settings.replenish_delay_ms)
            .context("service.replenish_delay_ms is too large")?;
        Ok(Self {
            default_stock,
            replenish_threshold: settings.replenish_threshold,
            replenish_quantity,
            replenish_delay_ms,
        })
    }

    /// Whether a SKU left with `available` units needs more.
    pub fn needs_replenishment(&self, available: i64) -> bool {
        available < i64::from(self.replenish_threshold)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_settings_make_a_valid_policy() {
        let policy = StockPolicy::from_settings(&LogisticsSettings::default()).unwrap();
        assert_eq!(policy.default_stock, 100);
        assert_eq!(policy.replenish_quantity, 100);
    }

    #[test]
    fn a_replenishment_of_zero_units_is_refused() {
        let settings = LogisticsSettings {
            replenish_quantity: 0,
            ..LogisticsSettings::default()
        };
        assert!(StockPolicy::from_settings(&settings).is_err());
    }

    #[test]
    fn a_default_stock_too_large_for_the_column_is_refused() {
        let settings = LogisticsSettings {
            default_stock: u32::MAX,
            ..LogisticsSettings::default()
        };
        assert!(StockPolicy::from_settings(&settings).is_err());
    }

    #[test]
    fn replenishment_is_needed_strictly_below_the_threshold() {
        let policy = StockPolicy::from_settings(&LogisticsSettings::default()).unwrap();
        assert!(policy.needs_replenishment(9));
        assert!(!policy.needs_replenishment(10));
    }
}
