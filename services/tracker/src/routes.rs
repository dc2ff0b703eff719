//! The tracker's HTTP API and page.
//!
//! Every route with data is staff only (its handler takes [`service_kit::Staff`]: no token or a
//! refused one is a 401, a customer's token a 403):
//!
//! - `GET /flows?limit=` and `GET /flows/{order_id}`: recent flows and one flow's timeline.
//! - `GET /topology`: the live topology of the bus's vhost.
//! - `GET /stalled`: the order service's stalled orders, which the page marks.
//! - `GET /dead-letters` and `POST /dead-letters/replay`: the vhost's dead letters, grouped, and
//!   their replay, recorded under the staff member's name.
//!
//! Open: `GET /` with `/assets/app.js` and `/assets/style.css`, the page drawing all of them, a
//! static shell that signs in with a staff token itself (see `page` for why it must be open).

mod dead_letters;
mod flows;
mod page;
mod stalled;
mod topology;

use actix_web::web;
use utoipa::OpenApi;

/// The service's OpenAPI document, derived from the handlers' annotations.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "tracker",
        description = "Stores every event of every exchange; serves flows, the live topology, the dead letters (listed and replayed) and a page drawing them."
    ),
    paths(
        flows::recent,
        flows::show,
        topology::show,
        stalled::show,
        dead_letters::list,
        dead_letters::replay,
        page::index,
        page::asset
    )
)]
pub struct ApiDoc;

/// Registers every route and the OpenAPI document; `web::Data<PgPool>` (from the kit),
/// `web::Data<Management>`, `web::Data<Orders>` and `web::Data<DeadLetters>` must be in the app
/// data.
pub fn configure(config: &mut web::ServiceConfig) {
    service_kit::openapi::document(config, ApiDoc::openapi());
    config
        .route("/flows", web::get().to(flows::recent))
        .route("/flows/{order_id}", web::get().to(flows::show))
        .route("/topology", web::get().to(topology::show))
        .route("/stalled", web::get().to(stalled::show))
        .route("/dead-letters", web::get().to(dead_letters::list))
        .route("/dead-letters/replay", web::post().to(dead_letters::replay))
        .route("/", web::get().to(page::index))
        .route("/assets/{file}", web::get().to(page::asset));
}
