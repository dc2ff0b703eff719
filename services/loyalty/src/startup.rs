//! [`build`]: loyalty on the kit's [`ServiceApp`]; [`wiring`]: everything loyalty does on the
//! bus.

use contracts::order::OrderConfirmed;
use event_bus::EventBus;
use service_kit::ServiceApp;
use tokio_util::sync::CancellationToken;

use crate::handlers::AwardPoints;
use crate::{MIGRATOR, routes, settings::Settings};

/// Prepares the database, starts the bus ([`wiring`]) and binds the HTTP listener.
pub async fn build(settings: Settings, shutdown: CancellationToken) -> anyhow::Result<ServiceApp> {
    ServiceApp::build(settings, &MIGRATOR, shutdown, wiring, routes::configure).await
}

// ANCHOR: wiring (quoted in the root README.md; tests/readme.rs keeps the two identical)
/// Every event loyalty consumes and publishes: its own queue, `loyalty`, gets a copy of each
/// confirmed order for [`AwardPoints`]; it publishes nothing.
pub fn wiring(bus: EventBus) -> EventBus {
    bus.on::<OrderConfirmed, _>(AwardPoints) // binds order.*.confirmed on exchange `order`
}
// ANCHOR_END: wiring
