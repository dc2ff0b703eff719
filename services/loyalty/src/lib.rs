//! # loyalty
//!
//! Loyalty points for confirmed orders: a subscriber added long after the order flow, touching
//! no producer. Its own queue, `loyalty`, binds `order.*.confirmed`; nothing else knows it
//! exists.
//!
//! - [`settings`]: the kit's sections only; loyalty has none of its own.
//! - [`startup`]: [`build`], loyalty on the kit's `ServiceApp`, and [`startup::wiring`], its
//!   one binding.
//! - [`routes`]: the HTTP endpoint, `GET /points/{customer_id}` (staff, or the customer
//!   themselves), and its OpenAPI document.
//! - [`handlers`]: the bus handler, [`handlers::AwardPoints`].
//! - [`store`]: all the SQL, on the `points` table.
//! - [`domain`]: the rule, pure and unit-tested: what an order earns; the customer id.

pub mod domain;
pub mod handlers;
pub mod routes;
pub mod settings;
pub mod startup;
pub mod store;

pub use settings::{Settings, load_settings};
pub use startup::build;

/// The embedded defaults, the lowest layer of the settings.
pub const DEFAULT_SETTINGS: &str = include_str!("../configuration/default.toml");

/// The `points` table; run by [`service_kit::database::prepare`] at startup.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");
