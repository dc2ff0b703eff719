//! The currency every amount of an order is in.

/// An ISO 4217 alphabetic code: exactly three uppercase ASCII letters (`EUR`). Whether the code
/// is assigned is billing's business; the shape is checked here so that `eur` or `€` never
/// reaches another service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Currency(String);

impl Currency {
    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.len() == 3 && raw.bytes().all(|byte| byte.is_ascii_uppercase()) {
            Ok(Self(raw.to_owned()))
        } else {
            Err("must be three uppercase letters (ISO 4217), like EUR".into())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_uppercase_letters_are_a_currency() {
        for good in ["EUR", "CHF", "USD", "XXX"] {
            assert_eq!(Currency::parse(good).unwrap().as_str(), good);
        }
    }

    #[test]
    fn anything_else_is_refused() {
        for bad in [
            "", "EU", "EURO", "eur", "Eur", "E1R", "€UR", "ÄUR", " EUR", "EU ",
        ] {
            assert!(Currency::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }
}
