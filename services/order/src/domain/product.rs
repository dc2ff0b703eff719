//! A product of the shop's catalog: what staff sell, at which price. Prices belong to the shop:
//! an order is priced from the catalog, never from what the client sends.

use serde_json::Value;

use super::json_fields::{UnreadableField, as_object, take, take_whole};
use super::{Sku, ValidationError};

/// The longest product name, in characters: a shelf label, not a description.
pub const MAX_NAME_LENGTH: usize = 200;
/// The highest unit price, in cents (a million in the shop's currency): far above anything the
/// shop sells, low enough that an order's total (100 lines of 1 000 units) fits an `i64` many
/// times over, so no sum of catalog prices can overflow.
pub const MAX_UNIT_PRICE_CENTS: i64 = 100_000_000;

/// The body of `PUT /products/{sku}`, its fields of the right JSON types. The schema states the
/// rules [`Product::parse`] enforces. Unknown fields are ignored.
#[derive(Debug, Clone, PartialEq, Eq, utoipa::ToSchema)]
pub struct ProductRequest {
    /// What customers see; not blank.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"\S",
        example = "Fountain pen"
    )]
    pub name: String,
    /// The price of one unit, in cents of the shop's currency.
    #[schema(minimum = 1, maximum = 100000000, example = 1999)]
    pub unit_price_cents: i64,
}

impl ProductRequest {
    /// Reads the body field by field, so that a missing or mistyped field is named.
    pub fn from_json(body: Value) -> Result<Self, UnreadableField> {
        let mut object = as_object(body, "body")?;
        Ok(Self {
            name: take(&mut object, "name", String::new())?,
            unit_price_cents: take_whole(&mut object, "unit_price_cents", String::new())?,
        })
    }
}

/// A product every rule holds for; only [`Product::parse`] makes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    sku: Sku,
    name: String,
    unit_price_cents: i64,
}

impl Product {
    /// Checks the SKU (the path's), the name and the price, reporting the first broken rule.
    pub fn parse(sku: &str, request: ProductRequest) -> Result<Self, ValidationError> {
        let sku = Sku::parse(sku).map_err(|message| ValidationError::new("sku", message))?;
        if request.name.trim().is_empty() {
            return Err(ValidationError::new("name", "must not be blank"));
        }
        if request.name.chars().count() > MAX_NAME_LENGTH {
            return Err(ValidationError::new(
                "name",
                format!("must be at most {MAX_NAME_LENGTH} characters"),
            ));
        }
        let unit_price_cents = check_unit_price("unit_price_cents", request.unit_price_cents)?;
        Ok(Self {
            sku,
            name: request.name,
            unit_price_cents,
        })
    }

    pub fn sku(&self) -> &Sku {
        &self.sku
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn unit_price_cents(&self) -> i64 {
        self.unit_price_cents
    }
}

/// A unit price the catalog can hold: `1..=MAX_UNIT_PRICE_CENTS`. Nothing is given away by
/// mistake (a price of 0), and a price stated on an order line outside this range can never be
/// the catalog's, so it is refused as invalid rather than as stale.
pub fn check_unit_price(field: impl Into<String>, cents: i64) -> Result<i64, ValidationError> {
    if (1..=MAX_UNIT_PRICE_CENTS).contains(&cents) {
        Ok(cents)
    } else {
        Err(ValidationError::new(
            field,
            format!("must be between 1 and {MAX_UNIT_PRICE_CENTS} cents"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(name: &str, unit_price_cents: i64) -> ProductRequest {
        ProductRequest {
            name: name.into(),
            unit_price_cents,
        }
    }

    fn broken_field(sku: &str, request: ProductRequest) -> String {
        Product::parse(sku, request).unwrap_err().field
    }

    #[test]
    fn a_body_is_read_naming_a_missing_or_mistyped_field() {
        let read = ProductRequest::from_json(
            serde_json::json!({"name": "Pen", "unit_price_cents": 5, "colour": "blue"}),
        );
        assert_eq!(read.unwrap(), request("Pen", 5));
        let field = |body: Value| ProductRequest::from_json(body).unwrap_err().field;
        assert_eq!(field(serde_json::json!({"unit_price_cents": 5})), "name");
        assert_eq!(
            field(serde_json::json!({"name": "Pen", "unit_price_cents": 19.99})),
            "unit_price_cents"
        );
        assert_eq!(
            field(serde_json::json!({"name": 7, "unit_price_cents": 5})),
            "name"
        );
        assert_eq!(field(serde_json::json!([])), "body");
    }

    #[test]
    fn a_valid_product_is_kept_as_given() {
        let product = Product::parse("PEN-7", request("Fountain pen", 1999)).unwrap();
        assert_eq!(product.sku().as_str(), "PEN-7");
        assert_eq!(product.name(), "Fountain pen");
        assert_eq!(product.unit_price_cents(), 1999);
    }

    #[test]
    fn the_sku_is_a_bounded_identifier() {
        assert_eq!(broken_field("", request("Pen", 1)), "sku");
        assert_eq!(broken_field(" ", request("Pen", 1)), "sku");
        assert_eq!(broken_field(&"s".repeat(101), request("Pen", 1)), "sku");
        assert!(Product::parse(&"s".repeat(100), request("Pen", 1)).is_ok());
    }

    #[test]
    fn the_name_is_not_blank_and_at_most_200_characters() {
        assert_eq!(broken_field("S", request("", 1)), "name");
        assert_eq!(broken_field("S", request("  ", 1)), "name");
        assert_eq!(broken_field("S", request(&"n".repeat(201), 1)), "name");
        assert!(Product::parse("S", request(&"é".repeat(200), 1)).is_ok());
    }

    #[test]
    fn the_price_is_between_1_cent_and_the_maximum() {
        for bad in [0, -1, MAX_UNIT_PRICE_CENTS + 1, i64::MIN, i64::MAX] {
            assert_eq!(
                broken_field("S", request("Pen", bad)),
                "unit_price_cents",
                "{bad}"
            );
        }
        assert!(Product::parse("S", request("Pen", 1)).is_ok());
        assert!(Product::parse("S", request("Pen", MAX_UNIT_PRICE_CENTS)).is_ok());
    }

    #[test]
    fn the_largest_possible_order_total_fits_an_i64() {
        let largest = MAX_UNIT_PRICE_CENTS
            .checked_mul(super::super::MAX_QUANTITY)
            .and_then(|line| line.checked_mul(super::super::MAX_LINES as i64));
        assert!(largest.is_some());
    }
}
