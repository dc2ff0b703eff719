//! [`ServiceApp`]: the startup every service shares, in the order it must happen.
//!
//! Database first (created, migrated), then the HTTP port (bound before anything runs in the
//! background, so a taken port fails cleanly), then the bus (handlers registered, topology
//! declared in the background), with readiness tied to database and bus. On shutdown the HTTP
//! server stops taking requests and finishes the ones in flight, the service's background tasks
//! end, the bus drains its handlers and flushes its outbox, and the pool closes. A service
//! supplies only what is its own: migrations, handlers, routes and background tasks.

use std::future::Future;

use actix_web::{dev::Server, web};
use anyhow::Context;
use event_bus::{EventBus, Outbox, RunningBus};
use sqlx::{PgPool, migrate::Migrator};
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use crate::auth::Verifier;
use crate::{Readiness, Settings, database, listener, openapi, prometheus, server};

/// A built service, ready to run.
pub struct ServiceApp {
    port: u16,
    pool: PgPool,
    server: Server,
    bus: RunningBus,
    shutdown: CancellationToken,
    /// The service's own background loops (sweepers, simulated suppliers...), awaited on stop.
    tasks: TaskTracker,
}

impl ServiceApp {
    /// Prepares the database, binds the HTTP port, starts the bus built by `bus`, and builds the
    /// HTTP server with `routes`; nothing is served until [`Self::run_until_stopped`], but the
    /// bus consumes from now on. The pool is shared with the routes as `web::Data<PgPool>`, and
    /// the bus's outbox (transactions that publish events) as `web::Data<Outbox>`, and the
    /// token verifier the [`crate::Identity`] and [`crate::Staff`] extractors use; whatever else
    /// they need, `routes` registers itself.
    pub async fn build<S, B, R>(
        settings: Settings<S>,
        migrator: &Migrator,
        shutdown: CancellationToken,
        bus: B,
        routes: R,
    ) -> anyhow::Result<Self>
    where
        B: FnOnce(EventBus) -> EventBus,
        R: Fn(&mut web::ServiceConfig) + Send + Clone + 'static,
    {
        // First: the bus records from the moment it starts.
        prometheus::handle();
        let pool = database::prepare(&settings.database, migrator).await?;
        let verifier = web::Data::new(
            Verifier::load(&settings.auth)
                .await
                .context("Failed to load the key that verifies bearer tokens")?,
        );
        let listener = listener::bind(&settings.application)?;
        let port = listener
            .local_addr()
            .context("Failed to read the bound port")?
            .port();
        let service = settings.bus.service.clone();
        let bus = bus(EventBus::new(settings.bus, pool.clone()))
            .start(shutdown.clone())
            .await
            .context("Failed to start the event bus")?;
        let publisher = bus.publisher();
        let readiness = Readiness::new(pool.clone(), move || publisher.is_connected());
        let pool_data = web::Data::new(pool.clone());
        let outbox_data = web::Data::new(bus.outbox());
        let service_name = web::Data::new(openapi::ServiceName(service.clone()));
        let server = server::http_server(listener, readiness, move |config| {
            config.app_data(pool_data.clone());
            config.app_data(outbox_data.clone());
            config.app_data(verifier.clone());
            // The default title of the OpenAPI document; a service's own document replaces it.
            config.app_data(service_name.clone());
            routes(config);
        })
        .context("Failed to start the HTTP server")?;
        tracing::info!(%service, port, "listening");
        Ok(Self {
            port,
            pool,
            server,
            bus,
            shutdown,
            tasks: TaskTracker::new(),
        })
    }

    /// The HTTP port actually bound (the configured one, or a free one for port 0).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The service's database pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The started bus (its publisher, its connection state, its topology).
    pub fn bus(&self) -> &RunningBus {
        &self.bus
    }

    /// Opens transactions that publish events through the outbox (for background tasks).
    pub fn outbox(&self) -> Outbox {
        self.bus.outbox()
    }

    /// The token that stops everything; background tasks select on it.
    pub fn shutdown(&self) -> &CancellationToken {
        &self.shutdown
    }

    /// Runs a background task of the service; [`Self::run_until_stopped`] waits for it to end,
    /// so it must return once the shutdown token is cancelled.
    pub fn spawn<F>(&self, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.tasks.spawn(task);
    }

    /// Serves until the shutdown token is cancelled (or the server fails, which cancels it),
    /// then drains: HTTP, background tasks, bus; the pool closes last.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let served = server::serve_until(self.server, self.shutdown.clone()).await;
        self.shutdown.cancel();
        self.tasks.close();
        self.tasks.wait().await;
        self.bus.stopped().await;
        self.pool.close().await;
        tracing::info!("stopped");
        served.context("The HTTP server failed")
    }
}

/// The whole `main` of a service: settings (`service` names its environment prefix), telemetry,
/// signal handling, then `build` and run until SIGINT or SIGTERM.
pub async fn run<S, F, Fut>(service: &str, defaults: &str, build: F) -> anyhow::Result<()>
where
    S: serde::de::DeserializeOwned + Default,
    F: FnOnce(Settings<S>, CancellationToken) -> Fut,
    Fut: Future<Output = anyhow::Result<ServiceApp>>,
{
    let settings = crate::configuration::load::<S>(service, defaults)
        .with_context(|| format!("Failed to load the settings of {service}"))?;
    crate::telemetry::init(&settings.telemetry);
    let shutdown = crate::shutdown::cancel_on_signals();
    build(settings, shutdown)
        .await
        .with_context(|| format!("Failed to start {service}"))?
        .run_until_stopped()
        .await
        .with_context(|| format!("{service} stopped with an error"))
}
