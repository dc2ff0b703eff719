//! The HTTP API: `POST /orders` and `GET /orders/{id}` (health routes come from the kit).

mod show;
mod submit;

use std::time::Duration;

use actix_web::web;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::status_feed::StatusFeed;

/// What the handlers share.
pub struct AppState {
    pub pool: PgPool,
    /// How long a new order may stay pending.
    pub deadline: Duration,
    /// The cap on `?wait=`.
    pub max_wait: Duration,
    /// How often a held request re-reads its order in case a notification was lost.
    pub wait_recheck: Duration,
    pub feed: StatusFeed,
    /// Held requests answer at once when the service shuts down.
    pub shutdown: CancellationToken,
}

/// Registers the routes, for [`service_kit::server::http_server`].
pub fn configure(
    state: web::Data<AppState>,
) -> impl Fn(&mut web::ServiceConfig) + Send + Clone + 'static {
    move |config: &mut web::ServiceConfig| {
        config
            .app_data(state.clone())
            .route("/orders", web::post().to(submit::submit))
            .route("/orders/{id}", web::get().to(show::show));
    }
}
