//! # order
//!
//! The order service owns the order's lifecycle. It takes orders over HTTP, stores them pending
//! and announces them (`order.v2.submit`, through the outbox, in the same transaction); then it
//! follows what billing and logistics answer: charged AND reserved → `confirmed`
//! (`order.v1.confirmed`), declined or out of stock → `cancelled` (`order.v1.cancelled`), shipped
//! → `shipped`. Orders still pending at their deadline are cancelled with reason `timeout`.
//!
//! No order stays stuck silently: every status that is not final has a deadline, and an order
//! past it is *stalled* and reported (gauge, `GET /orders?stalled=true`), not cancelled. An answer
//! about an order the service never stored reveals a submission by another producer (a legacy
//! `order.v1.submit`): that foreign order is recorded and refused (cancelled), so that billing
//! refunds and logistics releases.
//!
//! - [`domain`]: validation of a submission and the status rules, foreign orders' included, pure
//!   and unit-tested.
//! - [`routes`]: `POST /orders` (idempotent with `Idempotency-Key`),
//!   `GET /orders/{id}[?wait=&until=]`, and for operators `GET /orders?stalled=true`.
//! - [`handlers`]: the bus handlers for billing's and logistics' events.
//! - [`announcement`]: every event the service publishes, built in one place.
//! - [`sweeper`]: the deadline of pending orders.
//! - [`stalled`]: the orders past the deadline of their status: the `orders_stalled` gauge.
//! - [`admission`]: the 503 that `POST /orders` answers while too many orders are pending.
//! - [`key_retention`]: idempotency keys forgotten past their retention (a day), so that the
//!   same key then places a new order.
//! - [`transition`]: lock (or record a foreign order), decide, write, announce: the one path of
//!   every status change after the submission, shared by handlers and sweeper (each with its own
//!   event transaction).
//! - [`store`]: all the SQL, the writes, the read model the API shows, the stalled orders.
//! - [`status_feed`]: LISTEN/NOTIFY, waking the `?wait=` requests of the order that changed.
//! - [`settings`] and [`startup`]: configuration and wiring ([`build`], on the kit's `ServiceApp`).
//!
//! The rule the crate keeps: a status changes only with its history row, its notification and
//! its announcement, in one transaction.

pub mod admission;
pub mod announcement;
pub mod domain;
pub mod handlers;
pub mod key_retention;
pub mod routes;
pub mod settings;
pub mod stalled;
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
