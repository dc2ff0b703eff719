//! The page at `/` and its two assets, embedded in the binary so the page works offline and
//! ships with the service.

use actix_web::{HttpResponse, http::header, web};
use service_kit::ApiError;

const INDEX: &str = include_str!("../../assets/index.html");
const APP_JS: &str = include_str!("../../assets/app.js");
const STYLE_CSS: &str = include_str!("../../assets/style.css");

/// The page drawing the topology and an order's sequence diagram.
#[utoipa::path(get, path = "/", tag = "page", responses((status = 200, description = "The page", content_type = "text/html")))]
pub async fn index() -> HttpResponse {
    serve("text/html; charset=utf-8", INDEX)
}

/// `GET /assets/{file}`: `app.js` or `style.css`; anything else is a JSON 404.
#[utoipa::path(
    get,
    path = "/assets/{file}",
    tag = "page",
    params(("file" = String, Path, description = "`app.js` or `style.css`")),
    responses(
        (status = 200, description = "The asset"),
        (status = 404, description = "No such asset", body = service_kit::api_error::ErrorBody)
    )
)]
pub async fn asset(file: web::Path<String>) -> Result<HttpResponse, ApiError> {
    match file.as_str() {
        "app.js" => Ok(serve("text/javascript; charset=utf-8", APP_JS)),
        "style.css" => Ok(serve("text/css; charset=utf-8", STYLE_CSS)),
        other => Err(ApiError::not_found(format!("no asset named {other}"))),
    }
}

/// `no-cache`: the browser revalidates, so a new build's page is picked up at once.
fn serve(content_type: &'static str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(body)
}
