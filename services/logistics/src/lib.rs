//! # logistics
//!
//! Owns the stock and the shipments: reserves every line of a submitted order (or none),
//! releases the reservation of a cancelled order, ships a confirmed one, and asks a simulated
//! supplier for more when a reservation leaves a SKU low.
//!
//! - [`settings`]: the `[service]` section and [`load_settings`].
//! - [`domain`]: input checked at the edge (SKU, quantity on hand), merged order lines, tracking
//!   numbers.
//! - [`policy`]: the numbers of the settings, checked once, and the decisions made with them
//!   (what is short, what needs replenishing).
//! - [`warehouse`]: every SQL statement on stock, reservations, tombstones and replenishments.
//! - [`handlers`]: the bus handlers for `order.*.submit`, `order.*.cancelled`,
//!   `order.*.confirmed`.
//! - [`supplier`]: the background task that delivers due replenishments.
//! - [`routes`]: `GET`/`PUT /stock/{sku}`.
//! - [`startup`]: [`build`], logistics' handlers, supplier and routes on the kit's `ServiceApp`.
//!
//! The rules the crate enforces: everything done for one order holds a transaction-scoped
//! advisory lock on its id first, so its submit, cancellation and confirmation never interleave;
//! stock rows are then locked in SKU order, so two orders never deadlock; and `reserved` never
//! exceeds `on_hand` (a CHECK constraint backs the code).

pub mod domain;
pub mod handlers;
pub mod policy;
pub mod routes;
pub mod settings;
pub mod startup;
pub mod supplier;
pub mod warehouse;

pub use settings::{LogisticsSettings, Settings, load_settings};
pub use startup::build;

/// The embedded defaults, the lowest layer of the settings.
pub const DEFAULT_SETTINGS: &str = include_str!("../configuration/default.toml");

/// The service's own tables; run by [`service_kit::database::prepare`] at startup.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");
