//! A rule of the domain broken by well-formed input, naming the field that broke it.

use service_kit::ApiError;

/// Which field is wrong and why, in words a client can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ValidationError {
    /// The JSON path of the field (`lines[2].quantity`) or the header name (`Idempotency-Key`).
    pub field: String,
    pub message: String,
}

impl ValidationError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// A validation error is always the client's to fix: a 422 naming the field.
impl From<ValidationError> for ApiError {
    fn from(error: ValidationError) -> Self {
        ApiError::validation(error.field, error.message)
    }
}
