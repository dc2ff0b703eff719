//! Reading a JSON body field by field, so that a missing or mistyped field is reported by its
//! path (`lines[1].quantity`), which serde's own messages for a derived struct do not say (they
//! give a line and column). Used by every request body of the service.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// A field that is missing or of the wrong JSON type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{field}` {problem}")]
pub struct UnreadableField {
    /// The JSON path, `body` for the whole document.
    pub field: String,
    pub problem: String,
}

pub(super) fn as_object(value: Value, path: &str) -> Result<Map<String, Value>, UnreadableField> {
    match value {
        Value::Object(object) => Ok(object),
        other => Err(UnreadableField {
            field: path.to_owned(),
            problem: format!("must be a JSON object, not {}", kind(&other)),
        }),
    }
}

/// Removes the required `key` from `object` and reads it as a `T`; `prefix` makes the reported
/// path.
pub(super) fn take<T: DeserializeOwned>(
    object: &mut Map<String, Value>,
    key: &str,
    prefix: String,
) -> Result<T, UnreadableField> {
    let value = object.remove(key).ok_or_else(|| UnreadableField {
        field: format!("{prefix}{key}"),
        problem: "is missing".into(),
    })?;
    read(value, key, prefix)
}

/// Removes the optional `key` from `object` and reads it as a `T`: absent and `null` are both
/// `None` (the schema of an `Option` field allows either).
pub(super) fn take_optional<T: DeserializeOwned>(
    object: &mut Map<String, Value>,
    key: &str,
    prefix: String,
) -> Result<Option<T>, UnreadableField> {
    match object.remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => read(value, key, prefix).map(Some),
    }
}

/// [`take`] for a whole number: `2` and `2.0` alike, as JSON Schema's `integer` allows (see
/// [`service_kit::whole_number`]); a fraction or a non-number is unreadable.
pub(super) fn take_whole(
    object: &mut Map<String, Value>,
    key: &str,
    prefix: String,
) -> Result<i64, UnreadableField> {
    let value: Value = take(object, key, prefix.clone())?;
    whole(&value, key, prefix)
}

/// [`take_optional`] for a whole number.
pub(super) fn take_optional_whole(
    object: &mut Map<String, Value>,
    key: &str,
    prefix: String,
) -> Result<Option<i64>, UnreadableField> {
    let value: Option<Value> = take_optional(object, key, prefix.clone())?;
    value.map(|value| whole(&value, key, prefix)).transpose()
}

fn whole(value: &Value, key: &str, prefix: String) -> Result<i64, UnreadableField> {
    service_kit::whole_number::from_json(value).ok_or_else(|| UnreadableField {
        field: format!("{prefix}{key}"),
        problem: format!("must be a whole number, not {value}"),
    })
}

fn read<T: DeserializeOwned>(
    value: Value,
    key: &str,
    prefix: String,
) -> Result<T, UnreadableField> {
    serde_json::from_value(value).map_err(|error| UnreadableField {
        field: format!("{prefix}{key}"),
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
