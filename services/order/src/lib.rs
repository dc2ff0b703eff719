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
//! Every route needs a bearer token (the kit's [`service_kit::Identity`]): a customer orders for
//! themselves and reads their own orders, staff order on behalf of a customer, read every order,
//! keep the catalog and list the stalled orders. Prices belong to the shop: each order is priced
//! from the catalog at submission.
//!
//! - [`domain`]: validation of a submission, whom it is for, its pricing, the catalog's rules,
//!   and the status rules, foreign orders' included, pure and unit-tested.
//! - [`routes`]: `POST /orders` (idempotent with an `Idempotency-Key` of the customer's),
//!   `GET /orders/{id}[?wait=&until=]`, the catalog (`PUT /products/{sku}`,
//!   `GET /products[/{sku}]`), and for operators `GET /orders?stalled=true`.
//! - [`submission`]: the one path of a new order: priced, placed within its customer's bound on
//!   pending orders, announced.
//! - [`handlers`]: the bus handlers for billing's and logistics' events.
//! - [`announcement`]: every event the service publishes, built in one place.
//! - [`sweeper`]: the deadline of pending orders.
//! - [`stalled`]: the orders past the deadline of their status: the `orders_stalled` gauge.
//! - [`admission`]: the 503 that `POST /orders` answers while too many orders are pending.
//! - [`wait_quota`]: the 429 a customer gets past their bound on held `?wait=` requests.
//! - [`key_retention`]: idempotency keys forgotten past their retention (a day), so that the
//!   same key then places a new order.
//! - [`transition`]: lock (or record a foreign order), decide, write, announce: the one path of
//!   every status change after the submission, shared by handlers and sweeper (each with its own
//!   event transaction).
//! - [`store`]: all the SQL, the writes, the read model the API shows, the stalled orders, the
//!   catalog.
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
pub mod submission;
pub mod sweeper;
pub mod transition;
pub mod wait_quota;

pub use settings::{OrderSettings, Settings, load_settings};
pub use startup::build;

/// The embedded defaults (`configuration/default.toml`): every setting with a working local value.
pub const DEFAULT_SETTINGS: &str = include_str!("../configuration/default.toml");

/// The order service's migrations (`migrations/`), run by [`build`].
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");
