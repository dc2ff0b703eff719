//! [`Application`]: the database, the bus and the HTTP server of one billing instance.

use actix_web::dev::Server;
use anyhow::Context;
use contracts::billing::{PaymentCharged, PaymentDeclined, PaymentRefunded};
use contracts::order::{OrderCancelled, OrderSubmitted};
use event_bus::{EventBus, RunningBus};
use service_kit::{Readiness, database, listener, server};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::handlers::{ChargeOrder, RefundOrder};
use crate::{MIGRATOR, routes, settings::Settings};

/// A built billing service, ready to run.
pub struct Application {
    port: u16,
    server: Server,
    bus: RunningBus,
    pool: PgPool,
    shutdown: CancellationToken,
}

impl Application {
    /// Prepares the database, starts the bus (consuming `order.*.submit` and
    /// `order.*.cancelled`) and binds the HTTP listener. Nothing is served until
    /// [`run_until_stopped`](Self::run_until_stopped); the bus consumes from now on.
    pub async fn build(settings: Settings, shutdown: CancellationToken) -> anyhow::Result<Self> {
        let default_credit_cents = settings.service.default_credit_cents;
        anyhow::ensure!(
            default_credit_cents >= 0,
            "service.default_credit_cents must be zero or more, not {default_credit_cents}"
        );
        let pool = database::prepare(&settings.database, &MIGRATOR)
            .await
            .context("Failed to prepare the database")?;
        let bus = EventBus::new(settings.bus.clone(), pool.clone())
            .on::<OrderSubmitted, _>(ChargeOrder {
                default_credit_cents,
            })
            .on::<OrderCancelled, _>(RefundOrder {
                default_credit_cents,
            })
            .publishes::<PaymentCharged>()
            .publishes::<PaymentDeclined>()
            .publishes::<PaymentRefunded>()
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
        let routes_pool = pool.clone();
        let service_settings = settings.service.clone();
        let server = server::http_server(listener, readiness, move |config| {
            routes::configure(config, routes_pool.clone(), service_settings.clone())
        })
        .context("Failed to build the HTTP server")?;
        tracing::info!(port, "billing is listening");
        Ok(Self {
            port,
            server,
            bus,
            pool,
            shutdown,
        })
    }

    /// The HTTP port actually bound (useful when the settings asked for port 0).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until the shutdown token is cancelled, then lets in-flight requests and messages
    /// finish and the outbox flush before returning.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let served = server::serve_until(self.server, self.shutdown.clone()).await;
        // The server may also stop on its own (an I/O error): the bus must stop with it.
        self.shutdown.cancel();
        self.bus.stopped().await;
        self.pool.close().await;
        served.context("The HTTP server failed")
    }
}
