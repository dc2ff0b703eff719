//! Input checked at the edge: an HTTP handler turns raw strings and numbers into these types
//! before anything touches the database, and each refusal names the field.

mod credit_limit;

pub use credit_limit::CreditLimit;
/// A customer's id as the shop knows it: an opaque string chosen by the order service's callers,
/// non-empty and bounded.
pub use service_kit::identifier::BoundedId as CustomerId;
