//! Builds the mailer from its settings and runs it until the shutdown token is cancelled.

use actix_web::{dev::Server, web};
use anyhow::Context;
use contracts::logistics::OrderShipped;
use contracts::mailer::EmailSent;
use contracts::order::{OrderCancelled, OrderConfirmed};
use event_bus::{EventBus, RunningBus};
use service_kit::{Readiness, database, listener, server};
use tokio_util::sync::CancellationToken;

use crate::delivery::Mailer;
use crate::handlers::Notify;
use crate::postman::Postman;
use crate::{MIGRATOR, Settings, routes};

/// A built mailer: database ready, bus started, HTTP port bound.
pub struct Application {
    port: u16,
    server: Server,
    bus: RunningBus,
    shutdown: CancellationToken,
}

impl Application {
    /// Prepares the database, starts the bus (queue `mailer` bound to `order.*.confirmed`,
    /// `order.*.cancelled` and `logistics.*.shipped`; exchange `mailer` declared for
    /// `mailer.v1.sent`) and binds the HTTP listener. The server runs in
    /// [`run_until_stopped`](Self::run_until_stopped).
    pub async fn build(settings: Settings, shutdown: CancellationToken) -> anyhow::Result<Self> {
        // The mail settings first: a mistake there stops the startup before anything is created.
        let mailer = Mailer::from_settings(&settings.service).await?;
        let notify = Notify::new(Postman::new(mailer, &settings.service.from)?);
        let pool = database::prepare(&settings.database, &MIGRATOR).await?;
        let bus = EventBus::new(settings.bus.clone(), pool.clone())
            .on::<OrderConfirmed, _>(notify.clone())
            .on::<OrderCancelled, _>(notify.clone())
            .on::<OrderShipped, _>(notify)
            .publishes::<EmailSent>()
            .start(shutdown.clone())
            .await
            .context("Failed to start the event bus")?;

        let listener = listener::bind(&settings.application)?;
        let port = listener
            .local_addr()
            .context("Failed to read the bound address")?
            .port();
        let publisher = bus.publisher();
        let readiness = Readiness::new(pool.clone(), move || publisher.is_connected());
        let pool = web::Data::new(pool);
        let server = server::http_server(listener, readiness, move |config| {
            config.app_data(pool.clone()).configure(routes::configure);
        })
        .context("Failed to build the HTTP server")?;
        Ok(Self {
            port,
            server,
            bus,
            shutdown,
        })
    }

    /// The HTTP port, useful when the settings asked for port 0.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until the token is cancelled, then lets in-flight requests and messages finish
    /// and the outbox flush before returning.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let served = server::serve_until(self.server, self.shutdown.clone())
            .await
            .context("The HTTP server failed");
        // Whether the server stopped on the token or failed, the bus stops with the token.
        self.shutdown.cancel();
        self.bus.stopped().await;
        served
    }
}
