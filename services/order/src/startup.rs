//! [`build`]: the order service's handlers, background tasks and routes on the kit's
//! [`ServiceApp`], all stopped by one cancellation token.

use contracts::billing::{PaymentCharged, PaymentDeclined};
use contracts::logistics::{OrderShipped, OutOfStock, StockReserved};
use contracts::order::{OrderCancelled, OrderConfirmed, OrderSubmitted};
use event_bus::EventBus;
use service_kit::ServiceApp;
use tokio_util::sync::CancellationToken;

use crate::admission::Admission;
use crate::handlers::OrderOutcomes;
use crate::routes::{self, AppState};
use crate::settings::Settings;
use crate::status_feed::StatusFeed;
use crate::{MIGRATOR, sweeper};

/// Prepares the database, binds the port, starts the bus, the status listener and the sweeper,
/// and builds the server; nothing is served until [`ServiceApp::run_until_stopped`]. Everything
/// started here stops when `shutdown` is cancelled.
pub async fn build(settings: Settings, shutdown: CancellationToken) -> anyhow::Result<ServiceApp> {
    // Shared by the routes (which register waiters) and the status listener (which wakes them).
    let feed = StatusFeed::new();
    let admission = Admission::new(settings.service.max_pending_orders);
    let state = actix_web::web::Data::new(AppState {
        deadline: settings.service.deadline(),
        max_wait: settings.service.max_wait(),
        wait_recheck: settings.service.wait_recheck(),
        feed: feed.clone(),
        shutdown: shutdown.clone(),
        admission: admission.clone(),
    });
    let sweep_interval = settings.service.sweep_interval();
    let admission_interval = settings.service.admission_interval();
    let app = ServiceApp::build(
        settings,
        &MIGRATOR,
        shutdown,
        wiring,
        routes::configure(state),
    )
    .await?;
    app.spawn(feed.run(app.pool().clone(), app.shutdown().clone()));
    app.spawn(admission.run(
        app.pool().clone(),
        admission_interval,
        app.shutdown().clone(),
    ));
    app.spawn(sweeper::run(
        app.outbox(),
        sweep_interval,
        app.shutdown().clone(),
    ));
    Ok(app)
}

/// Everything the order service binds and publishes, in one place: its startup uses it, and the
/// flow tests check it against `contracts::catalog`.
pub fn wiring(bus: EventBus) -> EventBus {
    bus.on::<PaymentCharged, _>(OrderOutcomes)
        .on::<PaymentDeclined, _>(OrderOutcomes)
        .on::<StockReserved, _>(OrderOutcomes)
        .on::<OutOfStock, _>(OrderOutcomes)
        .on::<OrderShipped, _>(OrderOutcomes)
        .publishes::<OrderSubmitted>()
        .publishes::<OrderConfirmed>()
        .publishes::<OrderCancelled>()
}
