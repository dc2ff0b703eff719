//! The HTTP API: `POST /orders`, `GET /orders/{id}`, the catalog (`PUT /products/{sku}`,
//! `GET /products[/{sku}]`), and for operators `GET /orders?stalled=true` (health routes come
//! from the kit). Every route needs a bearer token; what each role may do is said on each
//! handler and in the OpenAPI document ([`document`]).

mod document;
mod products;
mod show;
mod stalled;
mod submit;

use std::time::Duration;

use actix_web::web;
use tokio_util::sync::CancellationToken;

use crate::admission::Admission;
use crate::domain::Currency;
use crate::status_feed::StatusFeed;
use crate::wait_quota::WaitQuota;

pub use document::{ApiDoc, document};

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
    /// The shop's currency: the catalog's prices are in it, and so is every order.
    pub currency: Currency,
    /// How many orders one customer may have pending at once; 0: no bound.
    pub max_pending_per_customer: u64,
    /// Bounds the held `?wait=` requests of each customer.
    pub wait_quota: WaitQuota,
}

/// Registers the routes and the OpenAPI document, for [`service_kit::server::http_server`].
pub fn configure(
    state: web::Data<AppState>,
) -> impl Fn(&mut web::ServiceConfig) + Send + Clone + 'static {
    let api = document(&state.currency);
    move |config: &mut web::ServiceConfig| {
        service_kit::openapi::document(config, api.clone());
        config
            .app_data(state.clone())
            .route("/orders", web::post().to(submit::submit))
            .route("/orders", web::get().to(stalled::list))
            .route("/orders/{id}", web::get().to(show::show))
            .route("/products", web::get().to(products::list))
            .route("/products/{sku}", web::put().to(products::put))
            .route("/products/{sku}", web::get().to(products::show));
    }
}
