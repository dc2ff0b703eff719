//! [`build`]: billing on the kit's [`ServiceApp`]; [`wiring`]: everything billing does on the
//! bus.

use std::time::Duration;

use contracts::billing::{PaymentCharged, PaymentDeclined, PaymentRefunded};
use contracts::order::{OrderCancelled, OrderSubmitted};
use event_bus::EventBus;
use service_kit::{ServiceApp, tombstone};
use tokio_util::sync::CancellationToken;

use crate::handlers::{ChargeOrder, RefundOrder};
use crate::{MIGRATOR, routes, settings::Settings};

/// Checks the settings, prepares the database, starts the bus ([`wiring`]) and binds the HTTP
/// listener. Nothing is served until [`ServiceApp::run_until_stopped`]; the bus consumes from
/// now on.
pub async fn build(settings: Settings, shutdown: CancellationToken) -> anyhow::Result<ServiceApp> {
    let default_credit_cents = settings.service.default_credit_cents;
    anyhow::ensure!(
        default_credit_cents >= 0,
        "service.default_credit_cents must be zero or more, not {default_credit_cents}"
    );
    let service_settings = settings.service.clone();
    let routes = move |config: &mut actix_web::web::ServiceConfig| {
        routes::configure(config, service_settings.clone())
    };
    let bus = move |bus: EventBus| wiring(bus, default_credit_cents);
    let tombstone_retention = Duration::from_secs(settings.bus.inbox_retention_secs);
    let app = ServiceApp::build(settings, &MIGRATOR, shutdown, bus, routes).await?;
    tombstone::keep_pruned(&app, tombstone_retention);
    Ok(app)
}

/// Every event billing consumes and publishes: it charges `order.*.submit` and refunds
/// `order.*.cancelled` (queue `billing`), and announces the outcome on its `billing` exchange.
/// `default_credit_cents` is the credit of a customer seen for the first time.
pub fn wiring(bus: EventBus, default_credit_cents: i64) -> EventBus {
    bus.on::<OrderSubmitted, _>(ChargeOrder {
        default_credit_cents,
    })
    .on::<OrderCancelled, _>(RefundOrder {
        default_credit_cents,
    })
    .publishes::<PaymentCharged>()
    .publishes::<PaymentDeclined>()
    .publishes::<PaymentRefunded>()
}
