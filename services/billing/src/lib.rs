//! # billing
//!
//! Moves the customers' money: charges a submitted order if its total fits in the customer's
//! remaining credit, and gives a charge back when its order is cancelled.
//!
//! - [`settings`]: the `[service]` section (`default_credit_cents`) and [`load_settings`].
//! - [`domain`]: the input types checked at the HTTP edge (customer id, credit limit).
//! - [`ledger`]: every SQL statement on customers, payments and cancellation tombstones.
//! - [`handlers`]: the bus handlers, `order.*.submit` (charge) and `order.*.cancelled` (refund).
//! - [`routes`]: `GET`/`PUT /customers/{id}`.
//! - [`startup`]: [`build`], billing's handlers and routes on the kit's `ServiceApp`.
//!
//! The rule the crate enforces: every movement of a customer's money happens with that
//! customer's row locked, so a charge and the cancellation of the same order can never interleave
//! and no charge is left standing for a cancelled order, whatever order the events arrive in.

pub mod domain;
pub mod handlers;
pub mod ledger;
pub mod routes;
pub mod settings;
pub mod startup;

pub use settings::{BillingSettings, Settings, load_settings};
pub use startup::build;

/// The embedded defaults, the lowest layer of the settings.
pub const DEFAULT_SETTINGS: &str = include_str!("../configuration/default.toml");

/// The service's own tables; run by [`service_kit::database::prepare`] at startup.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");
