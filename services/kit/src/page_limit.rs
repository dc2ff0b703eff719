//! [`page_limit`]: the `limit` query parameter of a listing, read as text so that a bad value
//! is refused naming the parameter (serde's query errors do not), and bounded.
//!
//! A listing declares it in its document as `value_type = Option<i64>, minimum = 1, maximum =
//! <max>`, so that every value the document allows is accepted.

use crate::ApiError;

/// `raw` as a limit: `default` when absent, 400 when not a whole number, 422 (field `limit`)
/// outside `1..=max`.
pub fn page_limit(raw: Option<&str>, default: i64, max: i64) -> Result<i64, ApiError> {
    let Some(raw) = raw else {
        return Ok(default);
    };
    let limit = raw.parse::<i64>().map_err(|_| {
        ApiError::bad_request(format!(
            "invalid query string: `limit` must be a whole number, not {raw:?}"
        ))
    })?;
    if !(1..=max).contains(&limit) {
        return Err(ApiError::validation(
            "limit",
            format!("must be between 1 and {max}"),
        ));
    }
    Ok(limit)
}

#[cfg(test)]
mod tests {
    use actix_web::ResponseError;

    use super::*;

    #[test]
    fn a_limit_is_its_default_when_absent_and_bounded_otherwise() {
        assert_eq!(page_limit(None, 20, 100).unwrap(), 20);
        assert_eq!(page_limit(Some("1"), 20, 100).unwrap(), 1);
        assert_eq!(page_limit(Some("100"), 20, 100).unwrap(), 100);
        for (raw, status) in [
            ("0", 422),
            ("101", 422),
            ("x", 400),
            ("9223372036854775808", 400),
        ] {
            let error = page_limit(Some(raw), 20, 100).unwrap_err();
            assert_eq!(error.status_code().as_u16(), status, "{raw}");
        }
    }
}
