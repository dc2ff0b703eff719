//! The stock policy: the numbers of `[service]`, checked once at startup, and the decisions
//! taken with them. Pure, so the rules are tested without a database.

use anyhow::Context;
use contracts::logistics::ShortSku;

use crate::domain::Demand;
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

/// A SKU's row: units in the warehouse and units set aside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Level {
    pub on_hand: i32,
    pub reserved: i32,
}

impl Level {
    /// Units that may still be reserved.
    pub fn available(&self) -> i64 {
        i64::from(self.on_hand) - i64::from(self.reserved)
    }
}

/// The demands that do not fit in their SKU's available units (`levels[i]` is the level of
/// `demands[i]`). Empty means the whole order can be reserved.
pub fn shortages(demands: &[Demand], levels: &[Level]) -> Vec<ShortSku> {
    demands
        .iter()
        .zip(levels)
        .filter(|(demand, level)| i128::from(demand.quantity) > i128::from(level.available()))
        .map(|(demand, level)| ShortSku {
            sku: demand.sku.clone(),
            requested: u32::try_from(demand.quantity).unwrap_or(u32::MAX),
            available: u32::try_from(level.available().max(0)).unwrap_or(u32::MAX),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demand(sku: &str, quantity: u64) -> Demand {
        Demand {
            sku: sku.into(),
            quantity,
        }
    }

    fn level(on_hand: i32, reserved: i32) -> Level {
        Level { on_hand, reserved }
    }

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

    #[test]
    fn demands_that_fit_are_not_short() {
        let short = shortages(
            &[demand("A", 5), demand("B", 1)],
            &[level(10, 5), level(1, 0)],
        );
        assert!(short.is_empty());
    }

    #[test]
    fn every_short_sku_is_named_with_what_was_requested_and_available() {
        let short = shortages(
            &[demand("A", 6), demand("B", 1), demand("C", 2)],
            &[level(10, 5), level(1, 0), level(0, 0)],
        );
        assert_eq!(
            short,
            vec![
                ShortSku {
                    sku: "A".into(),
                    requested: 6,
                    available: 5,
                },
                ShortSku {
                    sku: "C".into(),
                    requested: 2,
                    available: 0,
                },
            ]
        );
    }

    #[test]
    fn a_demand_beyond_u32_is_reported_saturated() {
        let short = shortages(&[demand("A", u64::MAX)], &[level(3, 0)]);
        assert_eq!(short[0].requested, u32::MAX);
        assert_eq!(short[0].available, 3);
    }
}
