//! The OpenAPI document of a service (`GET /openapi.json`) and a page to try it (`GET /docs`).
//!
//! A service describes its own routes with utoipa (`#[utoipa::path]` on handlers, `ToSchema` on
//! bodies, [`ErrorBody`] for errors) and hands the derived document to [`document`] from its
//! routes; the kit adds what every service serves (health, metrics, these two). A service that
//! hands nothing still serves a document with the kit's routes. The docs page is the kit's own
//! HTML and script, embedded, so it works offline: no CDN, no bundled UI framework.

use actix_web::{HttpRequest, HttpResponse, web};
use utoipa::OpenApi;
use utoipa::openapi::{InfoBuilder, OpenApiBuilder};

use crate::api_error::ErrorBody;
use crate::health;

/// The interactive page: lists the operations of `/openapi.json` and sends requests with them.
const DOCS_PAGE: &str = include_str!("../assets/docs.html");

/// What the kit serves on every service.
#[derive(OpenApi)]
#[openapi(
    paths(health::live, health::ready, crate::prometheus::metrics, openapi_json, docs),
    components(schemas(ErrorBody)),
    tags(
        (name = "operations", description = "Health, metrics and documentation, on every service")
    )
)]
struct KitApi;

/// The service's own document, as registered by [`document`].
struct ServiceDocument(utoipa::openapi::OpenApi);

/// The title of the document of a service that registers none: its name.
pub(crate) struct ServiceName(pub(crate) String);

/// Registers `api` (typically `ApiDoc::openapi()` of a `#[derive(OpenApi)]`) as the service's
/// document; call it from the service's routes.
pub fn document(config: &mut web::ServiceConfig, api: utoipa::openapi::OpenApi) {
    config.app_data(web::Data::new(ServiceDocument(api)));
}

/// `GET /openapi.json` and `GET /docs`.
pub fn routes(config: &mut web::ServiceConfig) {
    config
        .route("/openapi.json", web::get().to(openapi_json))
        .route("/docs", web::get().to(docs));
}

/// The full document: the service's own, or an empty one titled with its name, plus the kit's.
pub fn full_document(request: &HttpRequest) -> utoipa::openapi::OpenApi {
    let mut api = match request.app_data::<web::Data<ServiceDocument>>() {
        Some(document) => document.0.clone(),
        None => {
            let title = request
                .app_data::<web::Data<ServiceName>>()
                .map_or_else(|| "service".to_owned(), |name| name.0.clone());
            OpenApiBuilder::new()
                .info(
                    InfoBuilder::new()
                        .title(title)
                        .version(env!("CARGO_PKG_VERSION"))
                        .build(),
                )
                .build()
        }
    };
    api.merge(KitApi::openapi());
    api
}

/// This document, in JSON.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "operations",
    responses((status = 200, description = "The OpenAPI document of this service", content_type = "application/json"))
)]
pub(crate) async fn openapi_json(request: HttpRequest) -> HttpResponse {
    HttpResponse::Ok().json(full_document(&request))
}

/// A page to read this document and try its operations.
#[utoipa::path(
    get,
    path = "/docs",
    tag = "operations",
    responses((status = 200, description = "The interactive documentation page", content_type = "text/html"))
)]
pub(crate) async fn docs() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(DOCS_PAGE)
}
