//! [`build`]: the mailer on the kit's [`ServiceApp`]; [`wiring`]: everything the mailer does on
//! the bus.

use contracts::logistics::OrderShipped;
use contracts::mailer::EmailSent;
use contracts::order::{OrderCancelled, OrderConfirmed};
use event_bus::EventBus;
use service_kit::ServiceApp;
use tokio_util::sync::CancellationToken;

use crate::delivery::Mailer;
use crate::handlers::Notify;
use crate::postman::Postman;
use crate::{MIGRATOR, Settings, routes};

/// Builds the postman, prepares the database, starts the bus ([`wiring`]) and binds the HTTP
/// listener. The server runs in [`ServiceApp::run_until_stopped`].
pub async fn build(settings: Settings, shutdown: CancellationToken) -> anyhow::Result<ServiceApp> {
    // The mail settings first: a mistake there stops the startup before anything is created.
    let mailer = Mailer::from_settings(&settings.service).await?;
    let notify = Notify::new(Postman::new(mailer, &settings.service.from)?);
    let bus = |bus: EventBus| wiring(bus, notify);
    ServiceApp::build(settings, &MIGRATOR, shutdown, bus, routes::configure).await
}

/// Every event the mailer consumes and publishes: its queue `mailer` binds `order.*.confirmed`,
/// `order.*.cancelled` and `logistics.*.shipped`, each handled by `notify`, and its exchange
/// `mailer` carries `mailer.v1.sent`. No producer knows it exists.
pub fn wiring(bus: EventBus, notify: Notify) -> EventBus {
    bus.on::<OrderConfirmed, _>(notify.clone())
        .on::<OrderCancelled, _>(notify.clone())
        .on::<OrderShipped, _>(notify)
        .publishes::<EmailSent>()
}
