//! What answers a request no route takes: 405 with `Allow` when its path has routes for other
//! methods, a JSON 404 otherwise.
//!
//! Services register each method of a path on its own (`config.route("/x", web::get())`,
//! `config.route("/x", web::put())`), which actix-web turns into one resource per method, each
//! guarded by its method. A `DELETE /x` then matches none of them and falls through to the
//! app's default service, a 404, although `/x` exists: the answer would tell the client the
//! wrong thing, and carry no `Allow` (RFC 9110 §15.5.6).
//!
//! While routing, actix-web's method guards record the methods they were asked about in the
//! request; a resource without a matching route answers 405 with an `Allow` header made of
//! them. So the kit registers, after every other route, one resource matching any path and
//! holding no route: a request reaching it gets that 405 and `Allow`, listing exactly the
//! methods of the resources whose pattern matched its path. When no pattern matched, no method
//! was recorded, there is no `Allow`, and the answer becomes the JSON 404. The body of the 405
//! is made JSON by the `json_errors` middleware, which keeps the header.
//!
//! Inside a `web::scope`, the scope's own default service answers instead (a 404); the shop's
//! services use no scopes.

use actix_web::Error;
use actix_web::body::BoxBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::ALLOW;
use actix_web::middleware::{Next, from_fn};
use actix_web::web;

use crate::api_error::not_found;

/// The pattern of the resource that catches every path; the request metrics count it as
/// unmatched.
pub(crate) const ANY_PATH: &str = "/{any_path:.*}";

/// Registers the catch-all resource; it must come after every other route.
pub(crate) fn routes(config: &mut web::ServiceConfig) {
    config.service(web::resource(ANY_PATH).wrap(from_fn(not_found_unless_allowed)));
}

/// Keeps the resource's 405 when it names allowed methods; a JSON 404 otherwise.
async fn not_found_unless_allowed(
    request: ServiceRequest,
    next: Next<BoxBody>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let response = next.call(request).await?;
    if response.headers().contains_key(ALLOW) {
        return Ok(response);
    }
    let (request, _) = response.into_parts();
    let answer = not_found(request.clone()).await;
    Ok(ServiceResponse::new(request, answer.map_into_boxed_body()))
}

#[cfg(test)]
mod tests {
    use actix_web::http::StatusCode;
    use actix_web::test::{TestRequest, call_service, init_service};
    use actix_web::{App, HttpResponse};

    use super::*;

    async fn answer(request: TestRequest) -> ServiceResponse {
        let app = init_service(
            App::new()
                .route("/things/{id}", web::get().to(HttpResponse::Ok))
                .route("/things/{id}", web::put().to(HttpResponse::Ok))
                .route("/other", web::post().to(HttpResponse::Ok))
                .configure(routes),
        )
        .await;
        call_service(&app, request.to_request()).await
    }

    fn allowed(response: &ServiceResponse) -> Vec<String> {
        let mut methods: Vec<String> = response
            .headers()
            .get(ALLOW)
            .map(|value| value.to_str().unwrap())
            .unwrap_or_default()
            .split(',')
            .map(|method| method.trim().to_owned())
            .filter(|method| !method.is_empty())
            .collect();
        methods.sort();
        methods
    }

    #[actix_web::test]
    async fn a_method_the_path_lacks_is_a_405_allowing_exactly_the_paths_methods() {
        let response = answer(TestRequest::delete().uri("/things/7")).await;
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(allowed(&response), ["GET", "PUT"]);
    }

    #[actix_web::test]
    async fn a_path_no_route_has_is_a_404() {
        let response = answer(TestRequest::get().uri("/nothing/here")).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert!(allowed(&response).is_empty());
    }

    #[actix_web::test]
    async fn the_routes_themselves_still_answer() {
        let response = answer(TestRequest::put().uri("/things/7")).await;
        assert_eq!(response.status(), StatusCode::OK);
    }
}
