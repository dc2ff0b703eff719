//! # order
//!
//! The order service owns the order's lifecycle. It takes orders over HTTP, stores them pending
//! and announces them (`order.v2.submit`, through the outbox, in the same transaction); then it
//! follows what billing and logistics answer: charged AND reserved → `confirmed`
//! (`order.v1.confirmed`), declined or out of stock → `cancelled` (`order.v1.cancelled`), shipped
//! → `shipped`. Orders still pending at their deadline are cancelled with reason `timeout`.
//!
//! - [`domain`]: validation of a submission and the status rules, pure and unit-tested.
//! - [`routes`]: `POST /orders` (idempotent with `Idempotency-Key`),
//!   `GET /orders/{id}[?wait=&until=]`.
//! - [`handlers`]: the bus handlers for billing's and logistics' events.
//! - [`announcement`]: every event the service publishes, built in one place.
//! - [`sweeper`]: the deadline.
//! - [`admission`]: the 503 that `POST /orders` answers while too many orders are pending.
//! - [`transition`]: lock, decide, write, announce: the one path of every status change after
//!   the submission, shared by handlers and sweeper (each with its own event transaction).
//! - [`store`]: all the SQL, the writes and the read model the API shows.
//! - [`status_feed`]: LISTEN/NOTIFY, waking the `?wait=` requests of the order that changed.
//! - [`settings`] and [`startup`]: configuration and wiring ([`build`], on the kit's `ServiceApp`).
//!
//! The rule the crate keeps: a status changes only with its history row, its notification and
//! its announcement, in one transaction.

pub mod admission;
pub mod announcement;
pub mod domain;
pub mod handlers;
pub mod routes;
pub mod settings;
pub mod startup;
pub mod status_feed;
pub mod store;
pub mod sweeper;
pub mod transition;

pub use settings::{OrderSettings, Settings, load_settings};
pub use startup::build;

/// The embedded defaults (`configuration/default.toml`): every setting with a working local value.
pub const DEFAULT_SETTINGS: &str = include_str!("../configuration/default.toml");

/// The order service's migrations (`migrations/`), run by [`build`].
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");
