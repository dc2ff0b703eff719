//! Whole numbers in JSON bodies, as JSON Schema counts them: `1999` and `1999.0` are the same
//! integer.
//!
//! JSON has one number type, and JSON Schema's `integer` is any number without a fractional part,
//! so a client generated from our OpenAPI documents may well send `1999.0` for an `integer`
//! field; serde's `i64` refuses it. A field read with [`deserialize`] takes any number that is a
//! whole number within `i64` (`1999`, `1999.0`, `2e3`) and refuses a fraction (`19.99`), which
//! stays the client's mistake, as does a string.

use serde::de::{self, Deserializer, Visitor};

/// Reads a whole number: `#[serde(deserialize_with = "service_kit::whole_number::deserialize")]`.
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    deserializer.deserialize_any(WholeNumber)
}

/// [`deserialize`] for an optional field (absent or `null` is `None`; put `#[serde(default)]`
/// on the field too).
pub fn deserialize_optional<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<i64>, D::Error> {
    deserializer.deserialize_option(OptionalWholeNumber)
}

/// The whole number `value` holds, if it is one (for bodies read as `serde_json::Value`).
pub fn from_json(value: &serde_json::Value) -> Option<i64> {
    let number = value.as_number()?;
    number
        .as_i64()
        .or_else(|| number.as_u64().and_then(|n| i64::try_from(n).ok()))
        .or_else(|| number.as_f64().and_then(whole))
}

/// `value` as an `i64` when it has no fractional part and fits.
fn whole(value: f64) -> Option<i64> {
    // i64::MAX is not a float: 2^63 is the first float past it.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    (value.is_finite() && value.fract() == 0.0 && (-LIMIT..LIMIT).contains(&value))
        .then_some(value as i64)
}

struct WholeNumber;

impl Visitor<'_> for WholeNumber {
    type Value = i64;

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        formatter.write_str("a whole number")
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<i64, E> {
        Ok(value)
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<i64, E> {
        i64::try_from(value).map_err(|_| E::invalid_value(de::Unexpected::Unsigned(value), &self))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<i64, E> {
        whole(value).ok_or_else(|| E::invalid_value(de::Unexpected::Float(value), &self))
    }
}

struct OptionalWholeNumber;

impl<'de> Visitor<'de> for OptionalWholeNumber {
    type Value = Option<i64>;

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        formatter.write_str("a whole number or null")
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserialize(deserializer).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::json;

    use super::*;

    #[derive(Debug, Deserialize)]
    struct Body {
        #[serde(deserialize_with = "deserialize")]
        cents: i64,
        #[serde(default, deserialize_with = "deserialize_optional")]
        stated: Option<i64>,
    }

    fn cents(value: serde_json::Value) -> Result<i64, String> {
        serde_json::from_value::<Body>(json!({ "cents": value }))
            .map(|body| body.cents)
            .map_err(|error| error.to_string())
    }

    #[test]
    fn integers_and_integral_floats_are_whole_numbers() {
        assert_eq!(cents(json!(1999)), Ok(1999));
        assert_eq!(cents(json!(1999.0)), Ok(1999));
        assert_eq!(cents(json!(-3)), Ok(-3));
        assert_eq!(cents(json!(2e3)), Ok(2000));
        assert_eq!(from_json(&json!(36311.0)), Some(36311));
    }

    #[test]
    fn fractions_strings_and_numbers_beyond_i64_are_refused() {
        assert!(cents(json!(19.99)).unwrap_err().contains("a whole number"));
        assert!(cents(json!("1999")).is_err());
        assert!(cents(json!(u64::MAX)).is_err());
        assert!(cents(json!(1e19)).is_err());
        assert_eq!(from_json(&json!(0.5)), None);
        assert_eq!(from_json(&json!("7")), None);
    }

    #[test]
    fn an_optional_whole_number_may_be_absent_or_null() {
        let body: Body = serde_json::from_value(json!({"cents": 1})).unwrap();
        assert_eq!(body.stated, None);
        let body: Body = serde_json::from_value(json!({"cents": 1, "stated": null})).unwrap();
        assert_eq!(body.stated, None);
        let body: Body = serde_json::from_value(json!({"cents": 1, "stated": 5.0})).unwrap();
        assert_eq!(body.stated, Some(5));
    }
}
