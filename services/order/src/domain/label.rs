//! Short identifiers that other systems chose: the customer's id and the SKUs.

use service_kit::identifier::BoundedId;

/// The longest identifier accepted, in characters: the kit's bound for every identifier
/// ([`BoundedId`]), generous for any real id, small enough that a hundred lines stay far below
/// the body limit. The OpenAPI schemas repeat it as `max_length = 100`.
pub const MAX_LENGTH: usize = service_kit::identifier::MAX_LENGTH;

/// Checks what every identifier must be: a [`BoundedId`] (1 to [`MAX_LENGTH`] characters), not
/// blank, no control characters (they would corrupt logs and emails). The value is kept as
/// given.
fn parse_label(raw: &str) -> Result<String, String> {
    if raw.trim().is_empty() {
        return Err("must not be empty".into());
    }
    let id = BoundedId::parse(raw)?;
    if raw.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    Ok(id.as_str().to_owned())
}

/// Who ordered: billing charges this customer's credit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerId(String);

impl CustomerId {
    pub fn parse(raw: &str) -> Result<Self, String> {
        parse_label(raw).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What is ordered: logistics reserves stock of this stock-keeping unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sku(String);

impl Sku {
    pub fn parse(raw: &str) -> Result<Self, String> {
        parse_label(raw).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_kept_as_given() {
        assert_eq!(CustomerId::parse("alice").unwrap().as_str(), "alice");
        assert_eq!(Sku::parse("SKU-1 blue").unwrap().as_str(), "SKU-1 blue");
    }

    #[test]
    fn empty_or_blank_identifiers_are_refused() {
        for bad in ["", " ", "\t"] {
            assert!(CustomerId::parse(bad).is_err(), "{bad:?} should be refused");
            assert!(Sku::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn an_identifier_of_100_characters_is_accepted_and_one_longer_refused() {
        assert!(Sku::parse(&"é".repeat(100)).is_ok());
        assert!(Sku::parse(&"x".repeat(101)).is_err());
        assert!(CustomerId::parse(&"x".repeat(101)).is_err());
    }

    #[test]
    fn control_characters_are_refused() {
        assert!(CustomerId::parse("ali\nce").is_err());
        assert!(Sku::parse("SKU\u{0}1").is_err());
    }
}
