//! A quantity on hand set by hand (an inventory count).

/// Units on hand: zero or more, and small enough for the `INTEGER` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OnHand(i32);

impl OnHand {
    /// Checks `units`; the error says what is wrong, for the client.
    pub fn parse(units: i64) -> Result<Self, String> {
        if units < 0 {
            return Err("must be zero or more".into());
        }
        i32::try_from(units)
            .map(Self)
            .map_err(|_| format!("must be at most {}", i32::MAX))
    }

    pub fn units(self) -> i32 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_and_positive_counts_are_accepted() {
        assert_eq!(OnHand::parse(0).unwrap().units(), 0);
        assert_eq!(
            OnHand::parse(i64::from(i32::MAX)).unwrap().units(),
            i32::MAX
        );
    }

    #[test]
    fn a_negative_count_is_refused() {
        assert!(OnHand::parse(-1).is_err());
    }

    #[test]
    fn a_count_too_large_to_store_is_refused() {
        assert!(OnHand::parse(i64::from(i32::MAX) + 1).is_err());
    }
}
