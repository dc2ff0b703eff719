//! An order's lines as the warehouse sees them: one demand per SKU, in SKU order.

use std::collections::BTreeMap;

use contracts::order::OrderLine;

/// How many units of one SKU an order needs, all its lines for that SKU together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Demand {
    pub sku: String,
    /// A sum of `u32` quantities, so it cannot overflow.
    pub quantity: u64,
}

/// Merges lines of the same SKU (two lines of `BOOK-1` reserve their sum, and lock the row once)
/// and sorts by SKU, the order in which stock rows are locked so that two orders locking the
/// same SKUs cannot deadlock. Lines of zero units set nothing aside and are dropped.
pub fn merge_lines(lines: &[OrderLine]) -> Vec<Demand> {
    let mut merged: BTreeMap<&str, u64> = BTreeMap::new();
    for line in lines {
        *merged.entry(line.sku.as_str()).or_default() += u64::from(line.quantity);
    }
    merged
        .into_iter()
        .filter(|(_, quantity)| *quantity > 0)
        .map(|(sku, quantity)| Demand {
            sku: sku.to_owned(),
            quantity,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(sku: &str, quantity: u32) -> OrderLine {
        OrderLine {
            sku: sku.into(),
            quantity,
            unit_price_cents: 100,
        }
    }

    fn demand(sku: &str, quantity: u64) -> Demand {
        Demand {
            sku: sku.into(),
            quantity,
        }
    }

    #[test]
    fn lines_of_the_same_sku_are_summed_and_sorted_by_sku() {
        let merged = merge_lines(&[line("PEN-7", 3), line("BOOK-1", 2), line("PEN-7", 1)]);
        assert_eq!(merged, vec![demand("BOOK-1", 2), demand("PEN-7", 4)]);
    }

    #[test]
    fn huge_quantities_add_up_without_overflowing() {
        let merged = merge_lines(&[line("X", u32::MAX), line("X", u32::MAX)]);
        assert_eq!(merged, vec![demand("X", 2 * u64::from(u32::MAX))]);
    }

    #[test]
    fn lines_of_zero_units_are_dropped() {
        assert_eq!(
            merge_lines(&[line("X", 0), line("Y", 1)]),
            vec![demand("Y", 1)]
        );
        assert!(merge_lines(&[]).is_empty());
    }
}
