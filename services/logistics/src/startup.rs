//! [`Application`]: the database, the bus, the supplier and the HTTP server of one logistics
//! instance.

use std::time::Duration;

use actix_web::dev::Server;
use anyhow::Context;
use contracts::logistics::{
    OrderShipped, OutOfStock, ReplenishmentRequested, StockReleased, StockReserved,
};
use contracts::order::{OrderCancelled, OrderConfirmed, OrderSubmitted};
use event_bus::{EventBus, RunningBus};
use service_kit::{Readiness, database, listener, server};
use sqlx::PgPool;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::handlers::{ReleaseStock, ReserveStock, ShipOrder};
use crate::policy::StockPolicy;
use crate::{MIGRATOR, routes, settings::Settings, supplier};

/// A built logistics service, ready to run.
pub struct Application {
    port: u16,
    server: Server,
    bus: RunningBus,
    supplier: JoinHandle<()>,
    pool: PgPool,
    shutdown: CancellationToken,
}

impl Application {
    /// Checks the stock policy, prepares the database, starts the bus (consuming
    /// `order.*.submit`, `order.*.cancelled` and `order.*.confirmed`) and the supplier, and
    /// binds the HTTP listener. Nothing is served until
    /// [`run_until_stopped`](Self::run_until_stopped); the bus and the supplier work from now on.
    pub async fn build(settings: Settings, shutdown: CancellationToken) -> anyhow::Result<Self> {
        let policy = StockPolicy::from_settings(&settings.service)?;
        anyhow::ensure!(
            settings.service.supplier_interval_ms > 0,
            "service.supplier_interval_ms must be more than zero"
        );
        let pool = database::prepare(&settings.database, &MIGRATOR)
            .await
            .context("Failed to prepare the database")?;
        let bus = EventBus::new(settings.bus.clone(), pool.clone())
            .on::<OrderSubmitted, _>(ReserveStock { policy })
            .on::<OrderCancelled, _>(ReleaseStock)
            .on::<OrderConfirmed, _>(ShipOrder)
            .publishes::<StockReserved>()
            .publishes::<OutOfStock>()
            .publishes::<StockReleased>()
            .publishes::<OrderShipped>()
            .publishes::<ReplenishmentRequested>()
            .start(shutdown.clone())
            .await
            .context("Failed to start the event bus")?;
        let supplier = tokio::spawn(supplier::run(
            pool.clone(),
            Duration::from_millis(settings.service.supplier_interval_ms),
            shutdown.clone(),
        ));
        let listener = listener::bind(&settings.application)?;
        let port = listener
            .local_addr()
            .context("Failed to read the bound address")?
            .port();
        let publisher = bus.publisher();
        let readiness = Readiness::new(pool.clone(), move || publisher.is_connected());
        let routes_pool = pool.clone();
        let server = server::http_server(listener, readiness, move |config| {
            routes::configure(config, routes_pool.clone(), policy)
        })
        .context("Failed to build the HTTP server")?;
        tracing::info!(port, "logistics is listening");
        Ok(Self {
            port,
            server,
            bus,
            supplier,
            pool,
            shutdown,
        })
    }

    /// The HTTP port actually bound (useful when the settings asked for port 0).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until the shutdown token is cancelled, then lets in-flight requests, messages and
    /// the supplier's round finish and the outbox flush before returning.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let served = server::serve_until(self.server, self.shutdown.clone()).await;
        // The server may also stop on its own (an I/O error): the rest must stop with it.
        self.shutdown.cancel();
        if let Err(error) = self.supplier.await {
            tracing::error!(%error, "the supplier task failed");
        }
        self.bus.stopped().await;
        self.pool.close().await;
        served.context("The HTTP server failed")
    }
}
