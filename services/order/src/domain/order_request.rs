//! The body of `POST /orders` as the client sent it, read from JSON field by field so that a
//! missing or mistyped field is reported by its path (`lines[1].quantity`), which serde's own
//! messages for a derived struct do not say.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// A submission whose fields have the right JSON types; [`super::NewOrder::parse`] checks the
/// rules. Numbers are `i64` so that a quantity of `0` or `-1` is a rule broken (422), not a type
/// error. Unknown fields are ignored.
#[derive(Debug, Clone, PartialEq, Eq, utoipa::ToSchema)]
pub struct OrderRequest {
    pub customer_id: String,
    pub email: String,
    pub currency: String,
    pub lines: Vec<LineRequest>,
}

/// One line of [`OrderRequest`].
#[derive(Debug, Clone, PartialEq, Eq, utoipa::ToSchema)]
pub struct LineRequest {
    pub sku: String,
    pub quantity: i64,
    pub unit_price_cents: i64,
}

/// A field that is missing or of the wrong JSON type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{field}` {problem}")]
pub struct UnreadableField {
    /// The JSON path, `body` for the whole document.
    pub field: String,
    pub problem: String,
}

impl OrderRequest {
    pub fn from_json(body: Value) -> Result<Self, UnreadableField> {
        let mut object = as_object(body, "body")?;
        let customer_id = take(&mut object, "customer_id", String::new())?;
        let email = take(&mut object, "email", String::new())?;
        let currency = take(&mut object, "currency", String::new())?;
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
            quantity: take(&mut object, "quantity", prefix.clone())?,
            unit_price_cents: take(&mut object, "unit_price_cents", prefix)?,
        })
    }
}

fn as_object(value: Value, path: &str) -> Result<Map<String, Value>, UnreadableField> {
    match value {
        Value::Object(object) => Ok(object),
        other => Err(UnreadableField {
            field: path.to_owned(),
            problem: format!("must be a JSON object, not {}", kind(&other)),
        }),
    }
}

/// Removes `key` from `object` and reads it as a `T`; `prefix` makes the reported path.
fn take<T: DeserializeOwned>(
    object: &mut Map<String, Value>,
    key: &str,
    prefix: String,
) -> Result<T, UnreadableField> {
    let field = || format!("{prefix}{key}");
    let value = object.remove(key).ok_or_else(|| UnreadableField {
        field: field(),
        problem: "is missing".into(),
    })?;
    serde_json::from_value(value).map_err(|error| UnreadableField {
        field: field(),
        problem: format!("is unreadable: {error}"),
    })
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
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
        assert_eq!(request.customer_id, "alice");
        assert_eq!(
            request.lines,
            vec![LineRequest {
                sku: "SKU-1".into(),
                quantity: 2,
                unit_price_cents: 1999
            }]
        );
    }

    #[test]
    fn missing_fields_are_named_by_their_path() {
        assert_eq!(unreadable_field(|b| drop(b["email"].take())), "email");
        let missing = unreadable_field(|b| {
            b.as_object_mut().unwrap().remove("currency");
        });
        assert_eq!(missing, "currency");
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
