//! # mailer
//!
//! Tells customers what became of their orders: one email when an order is confirmed, cancelled
//! or shipped, then `mailer.v1.sent`. It binds its own queue, `mailer`, to `order.*.confirmed`,
//! `order.*.cancelled` and `logistics.*.shipped`; no producer knows it exists.
//!
//! - [`settings`]: the `[service]` section (data folder, From address, optional SMTP server).
//! - [`compose`]: what each email says.
//! - [`delivery`]: how it leaves, over SMTP or into `.eml` files; [`postman`] builds the message.
//! - [`recipients`], [`emails`]: the tables of addresses learned and emails sent.
//! - [`handlers`]: the bus handlers, and why delivery is at least once.
//! - [`routes`]: `GET /emails`.
//! - [`startup`]: [`build`], which wires it all on the kit's `ServiceApp`.

pub mod compose;
pub mod delivery;
pub mod emails;
pub mod handlers;
pub mod postman;
pub mod recipients;
pub mod routes;
pub mod settings;
pub mod startup;

pub use settings::{Settings, load_settings};
pub use startup::build;

/// The embedded defaults, the lowest layer of the settings.
pub const DEFAULT_SETTINGS: &str = include_str!("../configuration/default.toml");

/// The mailer's tables: `recipients` and `emails`.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");
