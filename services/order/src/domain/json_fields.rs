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
