//! Wiring: the database, the bus with its handlers, the background tasks and the HTTP server,
//! all stopped by one cancellation token.

use actix_web::dev::Server;
use actix_web::web;
use anyhow::Context;
use contracts::billing::{PaymentCharged, PaymentDeclined};
use contracts::logistics::{OrderShipped, OutOfStock, StockReserved};
use contracts::order::{OrderCancelled, OrderConfirmed, OrderSubmitted};
use event_bus::{EventBus, RunningBus};
use service_kit::{Readiness, database, listener, server};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::outcomes::OrderOutcomes;
use crate::routes::{self, AppState};
use crate::settings::Settings;
use crate::status_feed::StatusFeed;
use crate::{MIGRATOR, sweeper};

/// The order service, built and ready to run.
pub struct Application {
    port: u16,
    server: Server,
    bus: RunningBus,
    /// The status listener and the sweeper.
    tasks: TaskTracker,
    shutdown: CancellationToken,
}

impl Application {
    /// Prepares the database, binds the port, starts the bus and the background tasks, and
    /// builds the server; nothing is served until [`Self::run_until_stopped`]. Everything
    /// started here stops when `shutdown` is cancelled.
    pub async fn build(settings: Settings, shutdown: CancellationToken) -> anyhow::Result<Self> {
        let pool = database::prepare(&settings.database, &MIGRATOR).await?;
        // Bound before anything runs in the background, so a taken port fails cleanly.
        let listener = listener::bind(&settings.application)?;
        let port = listener
            .local_addr()
            .context("Failed to read the bound address")?
            .port();

        let bus = EventBus::new(settings.bus.clone(), pool.clone())
            .on::<PaymentCharged, _>(OrderOutcomes)
            .on::<PaymentDeclined, _>(OrderOutcomes)
            .on::<StockReserved, _>(OrderOutcomes)
            .on::<OutOfStock, _>(OrderOutcomes)
            .on::<OrderShipped, _>(OrderOutcomes)
            .publishes::<OrderSubmitted>()
            .publishes::<OrderConfirmed>()
            .publishes::<OrderCancelled>()
            .start(shutdown.clone())
            .await
            .context("Failed to start the event bus")?;

        let feed = StatusFeed::new();
        let tasks = TaskTracker::new();
        tasks.spawn(feed.clone().run(pool.clone(), shutdown.clone()));
        tasks.spawn(sweeper::run(
            pool.clone(),
            settings.service.sweep_interval(),
            shutdown.clone(),
        ));
        tasks.close();

        let publisher = bus.publisher();
        let readiness = Readiness::new(pool.clone(), move || publisher.is_connected());
        let state = web::Data::new(AppState {
            pool,
            deadline: settings.service.deadline(),
            max_wait: settings.service.max_wait(),
            wait_recheck: settings.service.wait_recheck(),
            feed,
            shutdown: shutdown.clone(),
        });
        let server = server::http_server(listener, readiness, routes::configure(state))
            .context("Failed to build the HTTP server")?;
        tracing::info!(port, "order service started");
        Ok(Self {
            port,
            server,
            bus,
            tasks,
            shutdown,
        })
    }

    /// The port the API listens on (the bound one when the settings asked for port 0).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until the shutdown token is cancelled (or the server fails, which cancels it),
    /// then waits for the background tasks and the bus to drain.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let served = server::serve_until(self.server, self.shutdown.clone()).await;
        self.shutdown.cancel();
        self.tasks.wait().await;
        self.bus.stopped().await;
        tracing::info!("order service stopped");
        served.context("The HTTP server failed")
    }
}
