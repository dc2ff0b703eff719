//! A customer's id as the shop knows it (an opaque string chosen by the order service's callers).

use std::fmt;

/// The longest id accepted, in characters: long enough for any real scheme, short enough that an
/// id cannot be used to store arbitrary data.
pub const MAX_LENGTH: usize = 100;

/// A non-empty id of at most [`MAX_LENGTH`] characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerId(String);

impl CustomerId {
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

impl fmt::Display for CustomerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ordinary_id_is_accepted_as_is() {
        assert_eq!(CustomerId::parse("c-42").unwrap().as_str(), "c-42");
    }

    #[test]
    fn an_empty_id_is_refused() {
        assert!(CustomerId::parse("").is_err());
    }

    #[test]
    fn an_id_of_exactly_the_maximum_length_is_accepted() {
        assert!(CustomerId::parse(&"é".repeat(MAX_LENGTH)).is_ok());
    }

    #[test]
    fn an_id_longer_than_the_maximum_is_refused() {
        let error = CustomerId::parse(&"x".repeat(MAX_LENGTH + 1)).unwrap_err();
        assert!(error.contains("100"), "{error}");
    }
}
