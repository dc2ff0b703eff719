//! Billing's rules, free of HTTP, SQL and the broker: what a valid credit limit and customer id
//! are, what a customer may still spend, and whether an order's total is charged or declined.
//! Everything here is pure and unit-tested; the routes, the handlers and the store carry data to
//! and from it.

mod account;
mod credit_limit;
mod payment;
mod verdict;

pub use account::Account;
pub use credit_limit::CreditLimit;
pub use payment::{Payment, PaymentStatus};
/// A customer's id as the shop knows it: an opaque string chosen by the order service's callers,
/// non-empty and bounded.
pub use service_kit::identifier::BoundedId as CustomerId;
pub use verdict::{Verdict, judge};
