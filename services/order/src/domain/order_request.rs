//! The body of `POST /orders` as the client sent it, read from JSON field by field so that a
//! missing or mistyped field is reported by its path (`lines[1].quantity`), which serde's own
//! messages for a derived struct do not say.

use serde_json::Value;

use super::json_fields::{
    UnreadableField, as_object, take, take_optional, take_optional_whole, take_whole,
};

/// A submission whose fields have the right JSON types; [`super::NewOrder::parse`] checks the
/// rules. Numbers are `i64` so that a quantity of `0` or `-1` is a rule broken (422), not a type
/// error. Unknown fields are ignored; an optional field may be absent or `null`.
///
/// The schema states every rule the service enforces, so that a request valid by the document
/// is not refused as invalid (the patterns spell out "not blank, no control characters").
#[derive(Debug, Clone, PartialEq, Eq, utoipa::ToSchema)]
pub struct OrderRequest {
    /// Whom the order is for. A customer may leave it out (their token names them) or name
    /// themselves; naming anyone else is refused (403). Staff ordering on behalf of a customer
    /// must give it.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$",
        example = "alice"
    )]
    pub customer_id: Option<String>,
    /// Where the mailer writes: one `@`, a name of at most 64 characters before it, a dotted
    /// domain after it, no whitespace.
    #[schema(
        min_length = 5,
        max_length = 254,
        pattern = r"^[^@\s\x00-\x1f\x7f-\x9f]{1,64}@[^@.\s\x00-\x1f\x7f-\x9f]+(\.[^@.\s\x00-\x1f\x7f-\x9f]+)+$",
        example = "alice@example.com"
    )]
    pub email: String,
    /// The shop's currency (`service.currency`, `EUR` by default), which every price is in;
    /// any other is refused (422). May be left out.
    #[schema(pattern = "^[A-Z]{3}$", example = "EUR")]
    pub currency: Option<String>,
    /// What is ordered, 1 to 100 lines, each priced from the catalog.
    #[schema(min_items = 1, max_items = 100)]
    pub lines: Vec<LineRequest>,
}

/// One line of [`OrderRequest`]: a product of the catalog and how many.
#[derive(Debug, Clone, PartialEq, Eq, utoipa::ToSchema)]
pub struct LineRequest {
    /// The product's SKU, as the catalog (`GET /products`) lists it; an unknown SKU is refused
    /// (422 naming `lines[i].sku`).
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$",
        example = "SKU-1"
    )]
    pub sku: String,
    #[schema(minimum = 1, maximum = 1000, example = 2)]
    pub quantity: i64,
    /// The unit price the client showed, in cents, if it states one: the order is priced from
    /// the catalog either way, and a stated price that is not the catalog's refuses the whole
    /// order (409, naming the line and the current price), so that a customer is never charged
    /// a price they were not shown.
    #[schema(minimum = 1, maximum = 100000000, example = 1999)]
    pub unit_price_cents: Option<i64>,
}

impl OrderRequest {
    pub fn from_json(body: Value) -> Result<Self, UnreadableField> {
        let mut object = as_object(body, "body")?;
        let customer_id = take_optional(&mut object, "customer_id", String::new())?;
        let email = take(&mut object, "email", String::new())?;
        let currency = take_optional(&mut object, "currency", String::new())?;
        let lines: Vec<Value> = take(&mut object, "lines", String::new())?;
        let lines = lines
            .into_iter()
            .enumerate()
            .map(|(index, line)| LineRequest::from_json(index, line))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            customer_id,
            email,
            currency,
            lines,
        })
    }
}

impl LineRequest {
    fn from_json(index: usize, line: Value) -> Result<Self, UnreadableField> {
        let path = format!("lines[{index}]");
        let mut object = as_object(line, &path)?;
        let prefix = format!("{path}.");
        Ok(Self {
            sku: take(&mut object, "sku", prefix.clone())?,
            quantity: take_whole(&mut object, "quantity", prefix.clone())?,
            unit_price_cents: take_optional_whole(&mut object, "unit_price_cents", prefix)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn valid() -> Value {
        json!({
            "customer_id": "alice",
            "email": "alice@example.com",
            "currency": "EUR",
            "lines": [{"sku": "SKU-1", "quantity": 2, "unit_price_cents": 1999}],
            "coupon": "ignored"
        })
    }

    fn unreadable_field(change: impl FnOnce(&mut Value)) -> String {
        let mut body = valid();
        change(&mut body);
        OrderRequest::from_json(body).unwrap_err().field
    }

    #[test]
    fn a_well_typed_body_is_read_and_unknown_fields_ignored() {
        let request = OrderRequest::from_json(valid()).unwrap();
        assert_eq!(request.customer_id.as_deref(), Some("alice"));
        assert_eq!(request.currency.as_deref(), Some("EUR"));
        assert_eq!(
            request.lines,
            vec![LineRequest {
                sku: "SKU-1".into(),
                quantity: 2,
                unit_price_cents: Some(1999)
            }]
        );
    }

    #[test]
    fn the_optional_fields_may_be_absent_or_null() {
        let mut body = valid();
        let object = body.as_object_mut().unwrap();
        object.remove("customer_id");
        object.insert("currency".into(), Value::Null);
        body["lines"][0]
            .as_object_mut()
            .unwrap()
            .remove("unit_price_cents");

        let request = OrderRequest::from_json(body).unwrap();

        assert_eq!(request.customer_id, None);
        assert_eq!(request.currency, None);
        assert_eq!(request.lines[0].unit_price_cents, None);
    }

    #[test]
    fn missing_fields_are_named_by_their_path() {
        assert_eq!(unreadable_field(|b| drop(b["email"].take())), "email");
        let missing = unreadable_field(|b| {
            b.as_object_mut().unwrap().remove("lines");
        });
        assert_eq!(missing, "lines");
        let missing = unreadable_field(|b| {
            b["lines"][0].as_object_mut().unwrap().remove("sku");
        });
        assert_eq!(missing, "lines[0].sku");
        let missing = unreadable_field(|b| {
            b["lines"][0].as_object_mut().unwrap().remove("quantity");
        });
        assert_eq!(missing, "lines[0].quantity");
    }

    #[test]
    fn mistyped_fields_are_named_by_their_path() {
        assert_eq!(
            unreadable_field(|b| b["customer_id"] = json!(42)),
            "customer_id"
        );
        assert_eq!(unreadable_field(|b| b["currency"] = json!(978)), "currency");
        assert_eq!(unreadable_field(|b| b["lines"] = json!({})), "lines");
        assert_eq!(
            unreadable_field(|b| b["lines"][0] = json!("SKU-1")),
            "lines[0]"
        );
        assert_eq!(
            unreadable_field(|b| b["lines"][0]["quantity"] = json!("two")),
            "lines[0].quantity"
        );
        assert_eq!(
            unreadable_field(|b| b["lines"][0]["quantity"] = json!(1.5)),
            "lines[0].quantity"
        );
        assert_eq!(
            unreadable_field(|b| b["lines"][0]["unit_price_cents"] = json!(u64::MAX)),
            "lines[0].unit_price_cents"
        );
    }

    #[test]
    fn a_body_that_is_not_an_object_is_refused() {
        let error = OrderRequest::from_json(json!([1, 2])).unwrap_err();
        assert_eq!(error.field, "body");
        assert!(error.to_string().contains("an array"), "{error}");
    }
}
