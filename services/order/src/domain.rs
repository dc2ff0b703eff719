//! The order's rules, free of HTTP, SQL and the broker: what a valid order is, and how its status
//! moves when billing and logistics answer. Everything here is a pure function with unit tests;
//! the routes, the bus handlers and the sweeper only carry data to and from it. `foreign` holds
//! the rule for orders another producer submitted.

mod currency;
mod email;
mod foreign;
mod idempotency_key;
mod label;
mod lifecycle;
mod new_order;
mod order_request;
mod validation_error;

pub use currency::Currency;
pub use email::Email;
pub use foreign::Origin;
pub use idempotency_key::IdempotencyKey;
pub use label::{CustomerId, Sku};
pub use lifecycle::{Decision, Outcome, Payer, Progress, Status, Step, parse_cancel_reason};
pub use new_order::{NewLine, NewOrder};
pub use order_request::{LineRequest, OrderRequest, UnreadableField};
pub use validation_error::ValidationError;
