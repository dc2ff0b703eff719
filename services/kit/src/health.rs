//! Liveness and readiness, for the orchestrator.
//!
//! Live means the process answers HTTP: restarting it would not help otherwise. Ready means it
//! can do its work, i.e. reach its database and the broker: while not ready, traffic should go
//! elsewhere, but the process must not be restarted for it (it reconnects on its own).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use actix_web::{HttpResponse, web};
use serde::Serialize;
use sqlx::PgPool;
use utoipa::ToSchema;

/// How long the database may take to answer `SELECT 1` before the service counts as not ready;
/// short, because a probe that hangs is itself a failure.
const DATABASE_CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// What the readiness probe checks.
#[derive(Clone)]
pub struct Readiness {
    pool: PgPool,
    /// Whether the bus is connected to the broker right now; cheap, called on every probe.
    broker_connected: Arc<dyn Fn() -> bool + Send + Sync>,
}

impl Readiness {
    /// `broker_connected` is typically a closure over the running bus's connection state.
    pub fn new(pool: PgPool, broker_connected: impl Fn() -> bool + Send + Sync + 'static) -> Self {
        Self {
            pool,
            broker_connected: Arc::new(broker_connected),
        }
    }

    /// Whether the database answers `SELECT 1` in time; a failure is logged with its reason.
    pub async fn database_ready(&self) -> bool {
        let check = sqlx::query("SELECT 1").execute(&self.pool);
        match tokio::time::timeout(DATABASE_CHECK_TIMEOUT, check).await {
            Ok(Ok(_)) => true,
            Ok(Err(error)) => {
                tracing::warn!(%error, "readiness: the database check failed");
                false
            }
            Err(_) => {
                tracing::warn!(
                    timeout_ms = DATABASE_CHECK_TIMEOUT.as_millis() as u64,
                    "readiness: the database did not answer in time"
                );
                false
            }
        }
    }

    /// Whether the broker is connected.
    pub fn broker_ready(&self) -> bool {
        (self.broker_connected)()
    }

    /// The outbox's backlog; `None` when it cannot be read (logged at debug).
    async fn outbox(&self) -> Option<OutboxBody> {
        let read = event_bus::outbox::backlog(&self.pool);
        match tokio::time::timeout(DATABASE_CHECK_TIMEOUT, read).await {
            Ok(Ok(backlog)) => Some(OutboxBody {
                pending: backlog.pending,
                waiting_for_subscribers: backlog.waiting_for_subscribers,
            }),
            Ok(Err(error)) => {
                tracing::debug!(%error, "readiness: the outbox backlog could not be read");
                None
            }
            Err(_) => None,
        }
    }
}

impl fmt::Debug for Readiness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Readiness")
            .field("pool", &self.pool)
            .finish_non_exhaustive()
    }
}

/// Registers `GET /health/live` and `GET /health/ready`; the latter needs `web::Data<Readiness>`.
pub fn routes(config: &mut web::ServiceConfig) {
    config
        .route("/health/live", web::get().to(live))
        .route("/health/ready", web::get().to(ready));
}

#[derive(Serialize, ToSchema)]
pub(crate) struct ReadyBody {
    status: &'static str,
    database: bool,
    broker: bool,
    /// The outbox, when the database answers: informative, it never makes the service unready.
    #[serde(skip_serializing_if = "Option::is_none")]
    outbox: Option<OutboxBody>,
}

/// What waits in the service's outbox.
#[derive(Serialize, ToSchema)]
pub(crate) struct OutboxBody {
    /// Events committed and not yet published.
    pending: i64,
    /// Of those, events that must be heard and that no queue is bound to yet: they are
    /// published again, with growing pauses, until a subscriber's queue exists.
    waiting_for_subscribers: i64,
}

/// Whether the process answers HTTP.
#[utoipa::path(
    get,
    path = "/health/live",
    tag = "operations",
    responses((status = 200, description = "The process answers: `{\"status\": \"live\"}`"))
)]
pub(crate) async fn live() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "live" }))
}

/// Whether the service can work: its database and the broker are reachable.
#[utoipa::path(
    get,
    path = "/health/ready",
    tag = "operations",
    responses(
        (status = 200, description = "Database and broker reachable", body = ReadyBody),
        (status = 503, description = "Database or broker unreachable", body = ReadyBody)
    )
)]
pub(crate) async fn ready(readiness: web::Data<Readiness>) -> HttpResponse {
    let database = readiness.database_ready().await;
    let broker = readiness.broker_ready();
    let outbox = if database {
        readiness.outbox().await
    } else {
        None
    };
    let body = |status| ReadyBody {
        status,
        database,
        broker,
        outbox,
    };
    if database && broker {
        HttpResponse::Ok().json(body("ready"))
    } else {
        HttpResponse::ServiceUnavailable().json(body("not_ready"))
    }
}
