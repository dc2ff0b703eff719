//! The HTTP API: `POST /orders`, `GET /orders/{id}`, and for operators
//! `GET /orders?stalled=true` (health routes come from the kit).

mod show;
mod stalled;
mod submit;

use std::time::Duration;

use actix_web::web;
use tokio_util::sync::CancellationToken;
use utoipa::OpenApi;

use crate::admission::Admission;
use crate::status_feed::StatusFeed;

/// What the handlers share besides the pool (which comes from the kit as `web::Data<PgPool>`).
pub struct AppState {
    /// How long a new order may stay pending.
    pub deadline: Duration,
    /// How long an order may stay confirmed before it is stalled.
    pub confirmed_deadline: Duration,
    /// The cap on `?wait=`.
    pub max_wait: Duration,
    /// How often a held request re-reads its order anyway, in case a notification was lost.
    pub wait_recheck: Duration,
    /// Where held requests register, to be woken when their order changes.
    pub feed: StatusFeed,
    /// Held requests answer at once when the service shuts down.
    pub shutdown: CancellationToken,
    /// Refuses new orders while too many are pending.
    pub admission: Admission,
}

/// The service's OpenAPI document, derived from the handlers' annotations.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "order",
        description = "Takes orders and follows them to shipped or cancelled."
    ),
    paths(submit::submit, show::show, stalled::list)
)]
pub struct ApiDoc;

/// Registers the routes and the OpenAPI document, for [`service_kit::server::http_server`].
pub fn configure(
    state: web::Data<AppState>,
) -> impl Fn(&mut web::ServiceConfig) + Send + Clone + 'static {
    move |config: &mut web::ServiceConfig| {
        service_kit::openapi::document(config, ApiDoc::openapi());
        config
            .app_data(state.clone())
            .route("/orders", web::post().to(submit::submit))
            .route("/orders", web::get().to(stalled::list))
            .route("/orders/{id}", web::get().to(show::show));
    }
}
