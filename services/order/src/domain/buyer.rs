//! Whom an order is for: a customer orders for themselves, staff on behalf of a customer.
//!
//! The customer an order names is the one billing charges, so it comes from the token, not from
//! the body: a customer's body may repeat their own id (older clients send it) or leave it out,
//! and naming anyone else is refused rather than silently replaced, so that a client with a
//! mix-up learns of it.

use service_kit::ApiError;

use super::{CustomerId, ValidationError};

/// Who submits, as far as the order's customer is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Submitter<'a> {
    /// A customer, by the id their token names.
    Customer(&'a str),
    /// A member of staff, ordering on behalf of the customer the body names.
    Staff,
}

/// Why the order's customer cannot be settled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuyerError {
    /// A customer named another customer → 403.
    #[error(
        "a customer orders for themselves: the token is {submitter:?}'s, the body names {named:?}"
    )]
    SomeoneElse { submitter: String, named: String },
    /// Staff named nobody, or a customer id that breaks a rule → 422.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
}

impl From<BuyerError> for ApiError {
    fn from(error: BuyerError) -> Self {
        match error {
            BuyerError::SomeoneElse { .. } => ApiError::forbidden(error.to_string()),
            BuyerError::Invalid(invalid) => invalid.into(),
        }
    }
}

/// The customer of an order `submitter` places, whose body names `named` (`customer_id`). A
/// named id is checked first, so that a malformed one is told what is wrong with it (422) even
/// when a customer sends it.
pub fn buyer(submitter: Submitter<'_>, named: Option<&str>) -> Result<CustomerId, BuyerError> {
    let parse = |raw: &str| {
        CustomerId::parse(raw).map_err(|message| ValidationError::new("customer_id", message))
    };
    let named = named.map(parse).transpose()?;
    match (submitter, named) {
        (Submitter::Customer(own), Some(named)) if named.as_str() != own => {
            Err(BuyerError::SomeoneElse {
                submitter: own.to_owned(),
                named: named.as_str().to_owned(),
            })
        }
        (Submitter::Customer(own), _) => Ok(parse(own)?),
        (Submitter::Staff, Some(named)) => Ok(named),
        (Submitter::Staff, None) => Err(ValidationError::new(
            "customer_id",
            "is required when staff orders on behalf of a customer",
        )
        .into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_customer_orders_for_themselves_named_or_not() {
        let alice = Submitter::Customer("alice");
        assert_eq!(buyer(alice, None).unwrap().as_str(), "alice");
        assert_eq!(buyer(alice, Some("alice")).unwrap().as_str(), "alice");
    }

    #[test]
    fn a_customer_naming_another_is_refused_as_forbidden() {
        let error = buyer(Submitter::Customer("alice"), Some("bob")).unwrap_err();
        assert!(matches!(error, BuyerError::SomeoneElse { .. }));
        let message = error.to_string();
        assert!(
            message.contains("alice") && message.contains("bob"),
            "{message}"
        );
        assert_eq!(ApiError::from(error).kind(), "forbidden");
    }

    #[test]
    fn staff_order_for_the_customer_the_body_names_and_must_name_one() {
        assert_eq!(
            buyer(Submitter::Staff, Some("bob")).unwrap().as_str(),
            "bob"
        );
        let error = buyer(Submitter::Staff, None).unwrap_err();
        assert_eq!(
            error,
            BuyerError::Invalid(ValidationError::new(
                "customer_id",
                "is required when staff orders on behalf of a customer"
            ))
        );
    }

    #[test]
    fn a_named_customer_id_must_be_valid() {
        let error = buyer(Submitter::Staff, Some(" ")).unwrap_err();
        assert!(
            matches!(error, BuyerError::Invalid(ref invalid) if invalid.field == "customer_id")
        );
        assert_eq!(ApiError::from(error).kind(), "validation");
    }
}
