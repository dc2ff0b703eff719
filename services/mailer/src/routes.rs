//! The mailer's HTTP API (besides the kit's `/health/*`), one file per resource.

mod emails;

use actix_web::web;
use utoipa::OpenApi;

pub use emails::{EmailView, EmailsQuery, list};

/// The service's OpenAPI document, derived from the handlers' annotations.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "mailer",
        description = "Sends one email per final state of an order."
    ),
    paths(emails::list)
)]
pub struct ApiDoc;

/// Registers the mailer's routes; the pool comes from the kit.
pub fn configure(config: &mut web::ServiceConfig) {
    service_kit::openapi::document(config, ApiDoc::openapi());
    config.route("/emails", web::get().to(emails::list));
}
