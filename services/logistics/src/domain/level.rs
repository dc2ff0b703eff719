//! A SKU's stock level, and which demands of an order it cannot meet.

use contracts::logistics::ShortSku;

use super::Demand;

/// A SKU's units in the warehouse and units set aside.
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
    fn available_is_on_hand_minus_reserved() {
        assert_eq!(level(10, 3).available(), 7);
        assert_eq!(
            level(i32::MAX, i32::MIN).available(),
            2 * i64::from(i32::MAX) + 1
        );
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
