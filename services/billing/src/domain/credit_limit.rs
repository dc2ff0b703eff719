//! A customer's credit limit: the most billing may have charged them at any time.

/// A limit in cents, zero or more (a zero limit blocks every non-free order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreditLimit(i64);

impl CreditLimit {
    /// Checks `cents`; the error says what is wrong, for the client.
    pub fn parse(cents: i64) -> Result<Self, String> {
        if cents < 0 {
            return Err("must be zero or more".into());
        }
        Ok(Self(cents))
    }

    pub fn cents(self) -> i64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_and_positive_limits_are_accepted() {
        assert_eq!(CreditLimit::parse(0).unwrap().cents(), 0);
        assert_eq!(CreditLimit::parse(i64::MAX).unwrap().cents(), i64::MAX);
    }

    #[test]
    fn a_negative_limit_is_refused() {
        assert!(CreditLimit::parse(-1).is_err());
    }
}
