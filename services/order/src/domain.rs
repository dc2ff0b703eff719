//! The order's rules, free of HTTP, SQL and the broker: what a valid order is, whom it is for,
//! how the catalog prices it, and how its status moves when billing and logistics answer.
//! Everything here is a pure function with unit tests; the routes, the bus handlers and the
//! sweeper only carry data to and from it. `foreign` holds the rule for orders another producer
//! submitted.

mod buyer;
mod currency;
mod email;
mod foreign;
mod idempotency_key;
mod json_fields;
mod label;
mod lifecycle;
mod new_order;
mod order_request;
mod pricing;
mod product;
mod validation_error;

pub use buyer::{BuyerError, Submitter, buyer};
pub use currency::Currency;
pub use email::Email;
pub use foreign::Origin;
pub use idempotency_key::IdempotencyKey;
pub use json_fields::UnreadableField;
pub use label::{CustomerId, MAX_LENGTH as MAX_ID_LENGTH, Sku};
pub use lifecycle::{Decision, Outcome, Payer, Progress, Status, Step, parse_cancel_reason};
pub use new_order::{MAX_LINES, MAX_QUANTITY, NewLine, NewOrder};
pub use order_request::{LineRequest, OrderRequest};
pub use pricing::{PricedLine, PricedOrder, Prices, PricingError, StalePrice};
pub use product::{
    MAX_NAME_LENGTH, MAX_UNIT_PRICE_CENTS, Product, ProductRequest, check_unit_price,
};
pub use validation_error::ValidationError;
