//! # service-kit
//!
//! What the four services of the shop (order, billing, logistics, mailer) share, so that each of
//! them is its domain and little else. A service's `main` reads, in this order:
//!
//! ```text
//! let settings = service_kit::configuration::load::<MySettings>("billing", DEFAULTS)?;
//! service_kit::telemetry::init(&settings.telemetry);
//! let shutdown = service_kit::shutdown::cancel_on_signals();
//! let pool = service_kit::database::prepare(&settings.database, &MIGRATOR).await?;
//! let listener = service_kit::listener::bind(&settings.application)?;
//! let server = service_kit::server::http_server(listener, readiness, routes)?;
//! service_kit::server::serve_until(server, shutdown).await?;
//! ```
//!
//! - [`app`]: [`ServiceApp`], the startup and shutdown sequence every service shares.
//! - [`configuration`]: layered settings (embedded defaults, optional file, `SHOP__*` and
//!   `<SERVICE>__*` environment variables) with the service's own section.
//! - [`telemetry`]: one `tracing` subscriber, human or JSON lines.
//! - [`database`]: creates the service's database if missing, installs the bus's tables, runs the
//!   service's migrations.
//! - [`api_error`]: the one error type handlers return, and the extractor configurations that
//!   turn malformed input into the same JSON error shape.
//! - [`health`]: liveness and readiness (database and broker) endpoints.
//! - [`listener`]: binds the HTTP port (port 0 in tests).
//! - [`server`]: the actix-web server every service runs, and its graceful stop.
//! - [`shutdown`]: a cancellation token cancelled by SIGINT or SIGTERM.
//!
//! The rule the crate enforces: every answer a service gives over HTTP is JSON, including the
//! errors actix-web would otherwise answer in plain text, and no internal error text ever reaches
//! a client.

pub mod api_error;
pub mod app;
pub mod configuration;
pub mod database;
pub mod health;
pub mod listener;
mod middleware;
pub mod server;
pub mod shutdown;
pub mod telemetry;

pub use api_error::ApiError;
pub use app::ServiceApp;
pub use configuration::{
    ApplicationSettings, DatabaseSettings, LogFormat, Settings, TelemetrySettings,
};
pub use health::Readiness;
