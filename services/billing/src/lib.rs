//! # billing
//!
//! Moves the customers' money: charges a submitted order if its total fits in the customer's
//! remaining credit, and gives a charge back when its order is cancelled.
//!
//! - [`settings`]: the `[service]` section (`default_credit_cents`) and [`load_settings`].
//! - [`startup`]: [`build`], billing on the kit's `ServiceApp`, and [`startup::wiring`], every
//!   event billing consumes and publishes, in one place.
//! - [`routes`]: the HTTP endpoints, `GET`/`PUT /customers/{id}`, with their bodies.
//! - [`handlers`]: the bus handlers, `order.*.submit` (charge) and `order.*.cancelled` (refund).
//! - [`store`]: all the SQL, on customers, payments and cancellation tombstones.
//! - [`domain`]: the rules, pure and unit-tested: customer id, credit limit, available credit,
//!   the charge-or-decline verdict.
//!
//! The rule the crate enforces: every movement of a customer's money happens with that
//! customer's row locked, so a charge and the cancellation of the same order can never interleave
//! and no charge is left standing for a cancelled order, whatever order the events arrive in.

pub mod domain;
pub mod handlers;
pub mod routes;
pub mod settings;
pub mod startup;
pub mod store;

pub use settings::{BillingSettings, Settings, load_settings};
pub use startup::build;

/// The embedded defaults, the lowest layer of the settings.
pub const DEFAULT_SETTINGS: &str = include_str!("../configuration/default.toml");

/// The service's own tables; run by [`service_kit::database::prepare`] at startup.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");
