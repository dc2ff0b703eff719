//! [`build`]: billing's handlers and routes on the kit's [`ServiceApp`].

use contracts::billing::{PaymentCharged, PaymentDeclined, PaymentRefunded};
use contracts::order::{OrderCancelled, OrderSubmitted};
use event_bus::EventBus;
use service_kit::ServiceApp;
use tokio_util::sync::CancellationToken;

use crate::handlers::{ChargeOrder, RefundOrder};
use crate::{MIGRATOR, routes, settings::Settings};

/// Checks the settings, prepares the database, starts the bus (consuming `order.*.submit` and
/// `order.*.cancelled`) and binds the HTTP listener. Nothing is served until
/// [`ServiceApp::run_until_stopped`]; the bus consumes from now on.
pub async fn build(settings: Settings, shutdown: CancellationToken) -> anyhow::Result<ServiceApp> {
    let default_credit_cents = settings.service.default_credit_cents;
    anyhow::ensure!(
        default_credit_cents >= 0,
        "service.default_credit_cents must be zero or more, not {default_credit_cents}"
    );
    let bus = |bus: EventBus| {
        bus.on::<OrderSubmitted, _>(ChargeOrder {
            default_credit_cents,
        })
        .on::<OrderCancelled, _>(RefundOrder {
            default_credit_cents,
        })
        .publishes::<PaymentCharged>()
        .publishes::<PaymentDeclined>()
        .publishes::<PaymentRefunded>()
    };
    let service_settings = settings.service.clone();
    let routes = move |config: &mut actix_web::web::ServiceConfig| {
        routes::configure(config, service_settings.clone())
    };
    ServiceApp::build(settings, &MIGRATOR, shutdown, bus, routes).await
}
