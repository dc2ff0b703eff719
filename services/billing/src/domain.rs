//! Input checked at the edge: an HTTP handler turns raw strings and numbers into these types
//! before anything touches the database, and each refusal names the field.

mod credit_limit;
mod customer_id;

pub use credit_limit::CreditLimit;
pub use customer_id::CustomerId;
