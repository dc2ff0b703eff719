//! # logistics
//!
//! Owns the stock and the shipments: reserves every line of a submitted order (or none),
//! releases the reservation of a cancelled order, ships a confirmed one, and asks a simulated
//! supplier for more when a reservation leaves a SKU low.
//!
//! - [`settings`]: the `[service]` section and [`load_settings`].
//! - [`startup`]: [`build`], logistics and its supplier on the kit's `ServiceApp`, and
//!   [`startup::wiring`], every event logistics consumes and publishes, in one place.
//! - [`routes`]: the HTTP endpoints, `GET`/`PUT /stock/{sku}`, with their bodies.
//! - [`handlers`]: the bus handlers for `order.*.submit`, `order.*.cancelled`,
//!   `order.*.confirmed`.
//! - [`supplier`]: the background task that delivers due replenishments.
//! - [`store`]: all the SQL, on stock, reservations, tombstones and replenishments.
//! - [`domain`]: the rules, pure and unit-tested: SKU and count checked at the edge, order lines
//!   merged per SKU, the stock policy and shortages, reservation statuses, tracking numbers.
//!
//! The rules the crate enforces: everything done for one order holds a transaction-scoped
//! advisory lock on its id first, so its submit, cancellation and confirmation never interleave;
//! stock rows are then locked in SKU order, so two orders never deadlock; and `reserved` never
//! exceeds `on_hand` (a CHECK constraint backs the code).

pub mod domain;
pub mod handlers;
pub mod routes;
pub mod settings;
pub mod startup;
pub mod store;
pub mod supplier;

pub use settings::{LogisticsSettings, Settings, load_settings};
pub use startup::build;

/// The embedded defaults, the lowest layer of the settings.
pub const DEFAULT_SETTINGS: &str = include_str!("../configuration/default.toml");

/// The service's own tables; run by [`service_kit::database::prepare`] at startup.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");
