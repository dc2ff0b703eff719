//! # mailer
//!
//! Tells customers what became of their orders: one email when an order is confirmed, cancelled
//! or shipped, then `mailer.v1.sent`. It binds its own queue, `mailer`, to `order.*.confirmed`,
//! `order.*.cancelled` and `logistics.*.shipped`; no producer knows it exists.
//!
//! - [`settings`]: the `[service]` section (data folder, From address, optional SMTP server).
//! - [`startup`]: [`build`], the mailer on the kit's `ServiceApp`, and [`startup::wiring`],
//!   every event the mailer consumes and publishes, in one place.
//! - [`routes`]: the HTTP endpoint, `GET /emails`, with its query and body.
//! - [`handlers`]: the bus handlers, and why delivery is at least once.
//! - [`store`]: all the SQL: the order lock, the addresses learned and the emails sent.
//! - [`domain`]: what each email says, pure and unit-tested.
//! - [`postman`]: turns an email into a MIME message from the shop's address and sends it
//!   through [`delivery`], which picks how it leaves: over SMTP or into `.eml` files.

pub mod delivery;
pub mod domain;
pub mod handlers;
pub mod postman;
pub mod routes;
pub mod settings;
pub mod startup;
pub mod store;

pub use settings::{Settings, load_settings};
pub use startup::build;

/// The embedded defaults, the lowest layer of the settings.
pub const DEFAULT_SETTINGS: &str = include_str!("../configuration/default.toml");

/// The mailer's tables: `recipients` and `emails`.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");
