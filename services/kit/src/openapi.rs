//! The OpenAPI document of a service (`GET /openapi.json`) and a page to try it (`GET /docs`).
//!
//! A service describes its own routes with utoipa (`#[utoipa::path]` on handlers, `ToSchema` on
//! bodies, [`ErrorBody`] for errors) and hands the derived document to [`document`] from its
//! routes; the kit adds what every service serves (health, metrics, these two). A service that
//! hands nothing still serves a document with the kit's routes. The docs page is the kit's own
//! HTML and script, embedded, so it works offline: no CDN, no bundled UI framework.
//!
//! # Security
//!
//! Every document declares the security scheme [`BEARER_SCHEME`] (HTTP bearer, a JWT; see
//! [`crate::auth`]). A service marks each operation that takes [`crate::Identity`] or
//! [`crate::Staff`] with `security(("bearer" = []))`, and starts its description with who may
//! call it (`Staff only.`, `Staff, or the customer themselves.`): the docs page shows a lock and
//! that sentence, and sends the token typed at its top.
//!
//! The kit's own operations are open, each with an empty `security` (so that a requirement a
//! service sets for its whole document does not cover them), and for a reason each:
//! - `/health/live` and `/health/ready` are for the orchestrator, which probes without a token;
//!   they tell whether the process runs and reaches its database and broker, nothing more.
//! - `/metrics` holds aggregate counters only (requests by route pattern and status, messages
//!   by queue, latencies), no personal data; it is meant for the Prometheus scraper on the
//!   private network the services run in, and is not to be exposed beyond it.
//! - `/openapi.json` and `/docs` describe the public contract, which is no secret; the docs
//!   page's requests to the service carry the token the reader gives it.

use actix_web::{HttpRequest, HttpResponse, web};
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
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

/// The name of the bearer token scheme, for a service's `security(("bearer" = []))`.
pub const BEARER_SCHEME: &str = "bearer";

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

/// The full document: the service's own, or an empty one titled with its name, plus the kit's
/// operations (open) and the [`BEARER_SCHEME`] security scheme.
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
    api.merge(kit_document());
    // Inserted, not merged: a scheme of the same name the service declared would otherwise win,
    // and the kit's extractors are what checks the token.
    api.components
        .get_or_insert_with(Default::default)
        .add_security_scheme(BEARER_SCHEME, bearer_scheme());
    api
}

/// The kit's operations, each marked open with an empty `security`.
fn kit_document() -> utoipa::openapi::OpenApi {
    let mut api = KitApi::openapi();
    for item in api.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.options,
            &mut item.head,
            &mut item.patch,
            &mut item.trace,
        ];
        for operation in operations.into_iter().flatten() {
            operation.security = Some(Vec::new());
        }
    }
    api
}

/// `Authorization: Bearer <JWT>`, as [`crate::auth`] verifies it.
fn bearer_scheme() -> SecurityScheme {
    SecurityScheme::Http(
        HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .bearer_format("JWT")
            .description(Some(
                "A JWT signed by the shop's identity provider (locally: `scripts/shopctl token`), \
                 with the role `customer` (the subject is the customer id) or `staff`. \
                 No token or a refused one: 401 with `WWW-Authenticate`; a role without the \
                 right: 403.",
            ))
            .build(),
    )
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

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;
    use serde_json::{Value, json};

    use super::*;

    /// Who may call it: staff only.
    #[utoipa::path(
        put,
        path = "/prices/{sku}",
        security(("bearer" = [])),
        responses((status = 200, description = "Set"))
    )]
    #[allow(dead_code)]
    async fn set_price() {}

    #[derive(OpenApi)]
    #[openapi(paths(set_price))]
    struct ServiceApi;

    /// The full document of an app whose routes registered `api`, as JSON.
    fn document_of(api: Option<utoipa::openapi::OpenApi>) -> Value {
        let mut request = TestRequest::default();
        if let Some(api) = api {
            request = request.app_data(web::Data::new(ServiceDocument(api)));
        }
        serde_json::to_value(full_document(&request.to_http_request())).unwrap()
    }

    #[test]
    fn every_document_declares_the_bearer_scheme() {
        for document in [document_of(None), document_of(Some(ServiceApi::openapi()))] {
            assert_eq!(
                document["components"]["securitySchemes"]["bearer"]
                    .as_object()
                    .map(|scheme| (&scheme["type"], &scheme["scheme"], &scheme["bearerFormat"])),
                Some((&json!("http"), &json!("bearer"), &json!("JWT"))),
                "{document}"
            );
        }
    }

    #[test]
    fn the_services_operations_reference_the_scheme_and_the_kits_are_open() {
        let mut api = ServiceApi::openapi();
        // A requirement for the whole document must not close the kit's routes.
        api.security = Some(vec![utoipa::openapi::security::SecurityRequirement::new::<
            _,
            _,
            &str,
        >(BEARER_SCHEME, [])]);
        let document = document_of(Some(api));
        assert_eq!(
            document["paths"]["/prices/{sku}"]["put"]["security"],
            json!([{ "bearer": [] }])
        );
        for path in [
            "/health/live",
            "/health/ready",
            "/metrics",
            "/openapi.json",
            "/docs",
        ] {
            assert_eq!(
                document["paths"][path]["get"]["security"],
                json!([]),
                "{path} is open: {document}"
            );
        }
    }

    #[test]
    fn the_kits_scheme_replaces_one_of_the_same_name_from_the_service() {
        let mut api = ServiceApi::openapi();
        api.components
            .get_or_insert_with(Default::default)
            .add_security_scheme(
                BEARER_SCHEME,
                SecurityScheme::ApiKey(utoipa::openapi::security::ApiKey::Header(
                    utoipa::openapi::security::ApiKeyValue::new("x-key"),
                )),
            );
        let document = document_of(Some(api));
        assert_eq!(
            document["components"]["securitySchemes"]["bearer"]["scheme"],
            "bearer"
        );
    }
}
