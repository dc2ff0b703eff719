//! # tracker
//!
//! Watches the choreography: a subscriber added like any other (no producer touched) whose queue
//! `tracker` binds `#` on every exchange of the shop, so it receives a copy of every event. It
//! stores each one once (routing key, producer, message, correlation and causation ids, time,
//! payload) in its own database, and serves:
//!
//! - `GET /flows/{order_id}`: the timeline of one order across all services, each event with
//!   what caused it; `GET /flows?limit=`: the latest orders seen;
//! - `GET /topology`: exchanges → bindings → queues → consuming services, read live from the
//!   RabbitMQ management API;
//! - `/`: a page drawing the topology and, for a chosen order, its sequence diagram, with the
//!   compensations marked. Its assets are embedded: it works offline.
//!
//! Modules: [`recorder`] (the bus handler), [`recorded`] (what is kept of a message), [`store`]
//! (the SQL), [`timeline`] (ordering and causes), [`management`] and [`topology`] (the live
//! picture), [`routes`] (HTTP), [`settings`].

pub mod management;
pub mod recorded;
pub mod recorder;
pub mod routes;
pub mod settings;
pub mod store;
pub mod timeline;
pub mod topology;

use actix_web::web;
use anyhow::Context;
use contracts::catalog;
use event_bus::EventBus;
use service_kit::ServiceApp;
use tokio_util::sync::CancellationToken;

pub use settings::{ManagementSettings, Settings, TrackerSettings, load_settings};

use crate::{management::Management, recorder::Recorder};

/// The embedded defaults (`configuration/default.toml`).
pub const DEFAULT_SETTINGS: &str = include_str!("../configuration/default.toml");

/// The tracker's migrations (`migrations/`).
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The exchanges the tracker observes: those the contracts' catalog subscribes it to.
pub fn observed_exchanges() -> Vec<&'static str> {
    catalog::subscriptions()
        .into_iter()
        .filter(|subscription| subscription.service == catalog::TRACKER)
        .map(|subscription| subscription.exchange)
        .collect()
}

/// Builds the tracker: a [`Recorder`] observing each exchange, the routes, the management
/// client for the bus's vhost.
pub async fn build(settings: Settings, stop: CancellationToken) -> anyhow::Result<ServiceApp> {
    let management = Management::new(&settings.service.management, &settings.bus.broker.vhost)
        .context("Failed to set up the management API client")?;
    let management = web::Data::new(management);
    let bus = |bus: EventBus| {
        observed_exchanges().into_iter().fold(bus, |bus, exchange| {
            bus.observe(exchange, Recorder { exchange })
        })
    };
    let routes = move |config: &mut web::ServiceConfig| {
        config.app_data(management.clone());
        routes::configure(config);
    };
    ServiceApp::build(settings, &MIGRATOR, stop, bus, routes).await
}
