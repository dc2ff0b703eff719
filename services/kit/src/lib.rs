//! # service-kit
//!
//! What the services of the shop (order, billing, logistics, mailer, loyalty) share, so that
//! each of them is its domain and little else. A service's `main` is one line,
//!
//! ```text
//! service_kit::app::run("billing", billing::DEFAULT_SETTINGS, billing::build).await
//! ```
//!
//! and its `build` hands its migrations, bus handlers and routes to [`ServiceApp::build`], which
//! does, in this order:
//!
//! ```text
//! let pool = service_kit::database::prepare(&settings.database, &MIGRATOR).await?;
//! let listener = service_kit::listener::bind(&settings.application)?;
//! let bus = EventBus::new(settings.bus, pool.clone()).on::<E, _>(handler).start(shutdown).await?;
//! let server = service_kit::server::http_server(listener, readiness, routes)?;
//! service_kit::server::serve_until(server, shutdown).await?;
//! ```
//!
//! - [`app`]: [`ServiceApp`], the startup and shutdown sequence every service shares, and
//!   [`app::run`], the whole `main`.
//! - [`configuration`]: layered settings (embedded defaults, optional file, `SHOP__*` and
//!   `<SERVICE>__*` environment variables) with the service's own section.
//! - [`telemetry`]: one `tracing` subscriber, human or JSON lines.
//! - [`database`]: creates the service's database if missing, installs the bus's tables, runs the
//!   service's migrations.
//! - [`api_error`]: the one error type handlers return, and the extractor configurations that
//!   turn malformed input into the same JSON error shape.
//! - [`auth`]: bearer tokens (JWT) verified against a public key or JWKS, and the extractors
//!   [`auth::Identity`] and [`auth::Staff`] that say who calls.
//! - [`health`]: liveness and readiness (database and broker) endpoints.
//! - [`listener`]: binds the HTTP port (port 0 in tests).
//! - [`server`]: the actix-web server every service runs, and its graceful stop; its middlewares
//!   carry the W3C trace context of a request into the events it stages, and record HTTP
//!   metrics.
//! - [`prometheus`]: the process's metrics recorder and `GET /metrics`.
//! - [`openapi`]: `GET /openapi.json` (the service's utoipa document plus the kit's routes) and
//!   the offline docs page at `GET /docs`.
//! - [`shutdown`]: a cancellation token cancelled by SIGINT or SIGTERM.
//! - [`ticker`]: [`every`], the one loop of every recurring background task (tick or shutdown,
//!   then rounds while a batch comes back full).
//! - [`page_limit`]: a listing's `limit` query parameter, read and bounded.
//! - [`identifier`]: bounded identifiers other systems chose (customer ids, SKUs).
//! - [`whole_number`]: integer fields of JSON bodies read as JSON Schema counts integers
//!   (`1999.0` is `1999`).
//! - [`tombstone`]: the cancellations a compensating service has seen, for events that arrive
//!   out of order.
//! - `testing` (feature `testing`): the harness of every service's integration tests.
//!
//! The rule the crate enforces: every answer a service gives over HTTP is JSON, including the
//! errors actix-web would otherwise answer in plain text, and no internal error text ever reaches
//! a client.

pub mod api_error;
pub mod app;
pub mod auth;
pub mod configuration;
pub mod database;
mod fallback;
pub mod health;
pub mod identifier;
pub mod listener;
mod middleware;
pub mod openapi;
pub mod page_limit;
pub mod prometheus;
pub mod server;
pub mod shutdown;
pub mod telemetry;
#[cfg(feature = "testing")]
pub mod testing;
/// Recurring background work (the order sweeper and admission count, the logistics supplier)
/// was three near-copies of one interval-and-shutdown loop; [`ticker::every`] is that loop,
/// written and tested once.
pub mod ticker;
pub mod tombstone;
pub mod whole_number;

pub use api_error::ApiError;
pub use app::ServiceApp;
pub use auth::{AuthSettings, Identity, Staff};
pub use configuration::{
    ApplicationSettings, DatabaseSettings, DatabaseSslMode, LogFormat, Settings, TelemetrySettings,
};
pub use health::Readiness;
pub use ticker::{Next, every};
