//! The client's name for one submission, so that a retry is recognised as the same order.

/// The longest key accepted, in characters: room for any UUID or hash a client uses.
const MAX_LENGTH: usize = 200;

/// The value of an `Idempotency-Key` header: 1 to 200 characters. HTTP already restricts header
/// values a client can read back to visible ASCII and spaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw.chars().count() {
            0 => Err("must not be empty".into()),
            n if n > MAX_LENGTH => Err(format!("must be at most {MAX_LENGTH} characters")),
            _ => Ok(Self(raw.to_owned())),
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
    fn keys_of_1_to_200_characters_are_accepted() {
        assert_eq!(IdempotencyKey::parse("k").unwrap().as_str(), "k");
        assert!(IdempotencyKey::parse(&"k".repeat(200)).is_ok());
    }

    #[test]
    fn empty_or_longer_keys_are_refused() {
        assert!(IdempotencyKey::parse("").is_err());
        assert!(IdempotencyKey::parse(&"k".repeat(201)).is_err());
    }
}
