//! Identifiers other systems chose (a customer's id, a SKU's code), checked at the HTTP edge.
//!
//! The shop keeps them as given: opaque strings, only bounded, so that a path segment cannot be
//! used to store arbitrary data, and free of control characters, which would corrupt logs and
//! emails, and which PostgreSQL's `text` refuses outright (a NUL byte in a path was a 500).

use std::fmt;

/// The longest identifier accepted, in characters: long enough for any real scheme, short
/// enough that an identifier cannot be used to store arbitrary data.
pub const MAX_LENGTH: usize = 100;

/// A non-empty identifier of at most [`MAX_LENGTH`] characters without control characters,
/// kept as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoundedId(String);

impl BoundedId {
    /// Checks `raw`; the error says what is wrong, for the client.
    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.is_empty() {
            return Err("must not be empty".into());
        }
        if raw.chars().count() > MAX_LENGTH {
            return Err(format!("must be at most {MAX_LENGTH} characters"));
        }
        if raw.chars().any(char::is_control) {
            return Err("must not contain control characters".into());
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BoundedId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ordinary_id_is_accepted_as_is() {
        assert_eq!(BoundedId::parse("c-42").unwrap().as_str(), "c-42");
        assert_eq!(BoundedId::parse("BOOK-1").unwrap().as_str(), "BOOK-1");
    }

    #[test]
    fn an_empty_id_is_refused() {
        assert!(BoundedId::parse("").is_err());
    }

    #[test]
    fn an_id_of_exactly_the_maximum_length_is_accepted() {
        assert!(BoundedId::parse(&"é".repeat(MAX_LENGTH)).is_ok());
        assert!(BoundedId::parse(&"ß".repeat(MAX_LENGTH)).is_ok());
    }

    #[test]
    fn an_id_longer_than_the_maximum_is_refused() {
        let error = BoundedId::parse(&"x".repeat(MAX_LENGTH + 1)).unwrap_err();
        assert!(error.contains("100"), "{error}");
    }

    #[test]
    fn an_id_with_a_control_character_is_refused() {
        for raw in ["a\0b", "line\nbreak", "tab\t", "\u{7f}"] {
            let error = BoundedId::parse(raw).unwrap_err();
            assert!(error.contains("control"), "{raw:?}: {error}");
        }
    }

    #[test]
    fn an_id_displays_as_given() {
        assert_eq!(BoundedId::parse("PEN-7").unwrap().to_string(), "PEN-7");
    }
}
