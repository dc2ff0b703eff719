//! [`build`]: the tracker's handler, routes, management client, order service client, dead
//! letters and retention loop on the kit's [`ServiceApp`].

use actix_web::web;
use anyhow::Context;
use contracts::catalog;
use event_bus::EventBus;
use service_kit::ServiceApp;
use tokio_util::sync::CancellationToken;

use crate::{
    MIGRATOR, Settings, dead_letters::DeadLetters, handlers::Recorder, management::Management,
    orders::Orders, retention, routes,
};

/// The exchanges the tracker observes: those the contracts' catalog subscribes it to.
pub fn observed_exchanges() -> Vec<&'static str> {
    catalog::subscriptions()
        .into_iter()
        .filter(|subscription| subscription.service == catalog::TRACKER)
        .map(|subscription| subscription.exchange)
        .collect()
}

/// Builds the tracker: a [`Recorder`] observing each exchange, the routes, the management
/// client for the bus's vhost, the client of the order service, the dead letters of the bus's
/// vhost, and the loop deleting what is older than the retention.
pub async fn build(settings: Settings, stop: CancellationToken) -> anyhow::Result<ServiceApp> {
    let management = Management::new(&settings.service.management, &settings.bus.broker.vhost)
        .context("Failed to set up the management API client")?;
    let mut operator = settings.bus.broker.clone();
    if !settings.service.dead_letters.username.is_empty() {
        operator.username = settings.service.dead_letters.username.clone();
        operator.password = settings.service.dead_letters.password.clone();
    }
    let dead_letters = DeadLetters::new(
        operator,
        management.api().clone(),
        &settings.service.dead_letters,
    );
    let dead_letters = web::Data::new(dead_letters);
    let management = web::Data::new(management);
    let orders = Orders::new(&settings.service.orders)
        .context("Failed to set up the order service client")?;
    let orders = web::Data::new(orders);
    let routes = move |config: &mut web::ServiceConfig| {
        config.app_data(management.clone());
        config.app_data(orders.clone());
        config.app_data(dead_letters.clone());
        routes::configure(config);
    };
    let retention = settings.service.retention();
    let app = ServiceApp::build(settings, &MIGRATOR, stop, wiring, routes).await?;
    app.spawn(retention::run(
        app.pool().clone(),
        retention,
        app.shutdown().clone(),
    ));
    Ok(app)
}

/// Everything the tracker binds: a [`Recorder`] on each exchange the catalog subscribes it to.
pub fn wiring(bus: EventBus) -> EventBus {
    observed_exchanges()
        .into_iter()
        .fold(bus, |bus, exchange| bus.observe(exchange, Recorder))
}
