//! [`build`]: the order service's handlers, background tasks and routes on the kit's
//! [`ServiceApp`], all stopped by one cancellation token.

use contracts::billing::{PaymentCharged, PaymentDeclined};
use contracts::logistics::{OrderShipped, OutOfStock, StockReserved};
use contracts::order::{OrderCancelled, OrderConfirmed, OrderSubmitted};
use event_bus::EventBus;
use service_kit::ServiceApp;
use tokio_util::sync::CancellationToken;

use anyhow::Context;

use crate::admission::Admission;
use crate::domain::Currency;
use crate::handlers::OrderOutcomes;
use crate::routes::{self, AppState};
use crate::settings::Settings;
use crate::status_feed::StatusFeed;
use crate::wait_quota::WaitQuota;
use crate::{MIGRATOR, key_retention, stalled, sweeper};

/// Prepares the database, binds the port, starts the bus, the status listener, the sweeper, the
/// count of stalled orders and the forgetting of old idempotency keys, and builds the server;
/// nothing is served until [`ServiceApp::run_until_stopped`]. Everything started here stops
/// when `shutdown` is cancelled.
pub async fn build(settings: Settings, shutdown: CancellationToken) -> anyhow::Result<ServiceApp> {
    // Shared by the routes (which register waiters) and the status listener (which wakes them).
    let feed = StatusFeed::new();
    let admission = Admission::new(settings.service.max_pending_orders);
    let outcomes = OrderOutcomes {
        foreign_deadline: settings.service.deadline(),
    };
    let confirmed_deadline = settings.service.confirmed_deadline();
    let currency = Currency::parse(&settings.service.currency)
        .map_err(|problem| anyhow::anyhow!("{problem}"))
        .with_context(|| format!("Invalid service.currency {:?}", settings.service.currency))?;
    let state = actix_web::web::Data::new(AppState {
        deadline: settings.service.deadline(),
        confirmed_deadline,
        max_wait: settings.service.max_wait(),
        wait_recheck: settings.service.wait_recheck(),
        feed: feed.clone(),
        shutdown: shutdown.clone(),
        admission: admission.clone(),
        currency,
        max_pending_per_customer: settings.service.max_pending_per_customer,
        wait_quota: WaitQuota::new(settings.service.max_waiting_per_customer),
    });
    let sweep_interval = settings.service.sweep_interval();
    let admission_interval = settings.service.admission_interval();
    let stalled_interval = settings.service.stalled_interval();
    let idempotency_key_retention = settings.service.idempotency_key_retention();
    let app = ServiceApp::build(
        settings,
        &MIGRATOR,
        shutdown,
        |bus| wiring(bus, outcomes),
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
    app.spawn(stalled::run(
        app.pool().clone(),
        confirmed_deadline,
        stalled_interval,
        app.shutdown().clone(),
    ));
    app.spawn(key_retention::run(
        app.pool().clone(),
        idempotency_key_retention,
        app.shutdown().clone(),
    ));
    Ok(app)
}

/// Everything the order service binds and publishes, in one place: its startup uses it, and the
/// flow tests check it against `contracts::catalog`. It does not bind `order.*.submit`: a
/// submission from another producer is found out from its answers (`domain::foreign`).
pub fn wiring(bus: EventBus, outcomes: OrderOutcomes) -> EventBus {
    bus.on::<PaymentCharged, _>(outcomes)
        .on::<PaymentDeclined, _>(outcomes)
        .on::<StockReserved, _>(outcomes)
        .on::<OutOfStock, _>(outcomes)
        .on::<OrderShipped, _>(outcomes)
        .publishes::<OrderSubmitted>()
        .publishes::<OrderConfirmed>()
        .publishes::<OrderCancelled>()
}
