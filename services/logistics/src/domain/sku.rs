//! A stock-keeping unit's code, as the catalogue names it.

use std::fmt;

/// The longest code accepted, in characters: enough for any real scheme, too short to store
/// arbitrary data under a path.
pub const MAX_LENGTH: usize = 100;

/// A non-empty SKU code of at most [`MAX_LENGTH`] characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sku(String);

impl Sku {
    /// Checks `raw`; the error says what is wrong, for the client.
    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.is_empty() {
            return Err("must not be empty".into());
        }
        if raw.chars().count() > MAX_LENGTH {
            return Err(format!("must be at most {MAX_LENGTH} characters"));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Sku {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ordinary_code_is_accepted_as_is() {
        assert_eq!(Sku::parse("BOOK-1").unwrap().as_str(), "BOOK-1");
    }

    #[test]
    fn an_empty_code_is_refused() {
        assert!(Sku::parse("").is_err());
    }

    #[test]
    fn a_code_of_exactly_the_maximum_length_is_accepted() {
        assert!(Sku::parse(&"ß".repeat(MAX_LENGTH)).is_ok());
    }

    #[test]
    fn a_code_longer_than_the_maximum_is_refused() {
        assert!(Sku::parse(&"x".repeat(MAX_LENGTH + 1)).is_err());
    }
}
