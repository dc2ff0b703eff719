//! The page at `/` and its two assets, embedded in the binary so the page works offline and
//! ships with the service.
//!
//! Open, unlike every other route of the tracker, and on purpose: a browser's navigation to a
//! URL cannot carry an `Authorization: Bearer` header, so a page behind the token could never be
//! opened. What is served here is a static shell holding no data: the same bytes for everyone,
//! built into the binary. All data comes from the staff-only APIs, which the page's script calls
//! with the staff member's bearer token: the page asks for the token in a sign-in box (one
//! printed by `scripts/shopctl token --staff`), keeps it in `sessionStorage` (gone when the tab
//! closes, never sent unless the script attaches it), sends it in the `Authorization` header of
//! every fetch, and on a 401 or 403 forgets it, says the token was refused, and asks again.
//!
//! No cookie, deliberately: a browser attaches cookies to any request to the tracker, including
//! one a foreign page makes it send (a form posted to `/dead-letters/replay`), which would need
//! CSRF tokens to tell apart. A bearer header is only ever set by the page's own script, from
//! this origin's `sessionStorage`, which another site's script cannot read: a forged request
//! arrives without a token and is refused with a 401, so the replay needs no CSRF protection.

use actix_web::{HttpResponse, http::header, web};
use service_kit::ApiError;

const INDEX: &str = include_str!("../../assets/index.html");
const APP_JS: &str = include_str!("../../assets/app.js");
const STYLE_CSS: &str = include_str!("../../assets/style.css");

/// The page drawing the topology and an order's sequence diagram, once a staff member signed in.
///
/// Open: a static shell with no data (a browser's navigation cannot carry a bearer token); its
/// script asks for a staff token, keeps it in `sessionStorage` and sends it as
/// `Authorization: Bearer` with every call of the staff-only APIs. No cookie, so no CSRF.
#[utoipa::path(get, path = "/", tag = "page", responses((status = 200, description = "The page: a static shell without data, open (it signs in with a staff bearer token itself)", content_type = "text/html")))]
pub async fn index() -> HttpResponse {
    serve("text/html; charset=utf-8", INDEX)
}

/// `GET /assets/{file}`: `app.js` or `style.css`; anything else is a JSON 404.
///
/// Open, as the page is: the same static files for everyone, no data.
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
