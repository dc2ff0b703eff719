//! [`build`]: logistics on the kit's [`ServiceApp`], with its supplier; [`wiring`]: everything
//! logistics does on the bus.

use std::time::Duration;

use contracts::logistics::{
    OrderShipped, OutOfStock, ReplenishmentRequested, StockReleased, StockReserved,
};
use contracts::order::{OrderCancelled, OrderConfirmed, OrderSubmitted};
use event_bus::EventBus;
use service_kit::{ServiceApp, tombstone};
use tokio_util::sync::CancellationToken;

use crate::domain::StockPolicy;
use crate::handlers::{ReleaseStock, ReserveStock, ShipOrder};
use crate::{MIGRATOR, routes, settings::Settings, supplier};

/// Checks the stock policy, prepares the database, starts the bus ([`wiring`]) and the
/// supplier, and binds the HTTP listener. Nothing is served until
/// [`ServiceApp::run_until_stopped`]; the bus and the supplier work from now on, and the
/// supplier finishes its round before the service stops.
pub async fn build(settings: Settings, shutdown: CancellationToken) -> anyhow::Result<ServiceApp> {
    let policy = StockPolicy::from_settings(&settings.service)?;
    anyhow::ensure!(
        settings.service.supplier_interval_ms > 0,
        "service.supplier_interval_ms must be more than zero"
    );
    let supplier_interval = Duration::from_millis(settings.service.supplier_interval_ms);
    let routes =
        move |config: &mut actix_web::web::ServiceConfig| routes::configure(config, policy);
    let bus = move |bus: EventBus| wiring(bus, policy);
    let tombstone_retention = Duration::from_secs(settings.bus.inbox_retention_secs);
    let app = ServiceApp::build(settings, &MIGRATOR, shutdown, bus, routes).await?;
    tombstone::keep_pruned(&app, tombstone_retention);
    app.spawn(supplier::run(
        app.pool().clone(),
        supplier_interval,
        app.shutdown().clone(),
    ));
    Ok(app)
}

/// Every event logistics consumes and publishes: it reserves for `order.*.submit`, releases
/// for `order.*.cancelled` and ships for `order.*.confirmed` (queue `logistics`), and announces
/// what it did on its `logistics` exchange. `policy` decides stock levels and replenishments.
pub fn wiring(bus: EventBus, policy: StockPolicy) -> EventBus {
    bus.on::<OrderSubmitted, _>(ReserveStock { policy })
        .on::<OrderCancelled, _>(ReleaseStock)
        .on::<OrderConfirmed, _>(ShipOrder)
        .publishes::<StockReserved>()
        .publishes::<OutOfStock>()
        .publishes::<StockReleased>()
        .publishes::<OrderShipped>()
        .publishes::<ReplenishmentRequested>()
}
