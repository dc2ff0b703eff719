//! `GET /stalled`: the order service's stalled orders, passed on for the page (which fetches
//! nothing from another host).
//!
//! Staff only, as the order service's own list is: the tracker relays the caller's bearer token
//! to the order service rather than hold a credential of its own, so it can show a caller
//! nothing the order service would not show that caller.

use actix_web::{
    HttpRequest, HttpResponse, ResponseError,
    http::{StatusCode, header::AUTHORIZATION},
    web,
};
use service_kit::Staff;

use crate::orders::{Orders, OrdersError};

/// The order service could not be read: its problem, not the client's, and possibly passing,
/// hence 503.
#[derive(Debug, thiserror::Error)]
#[error("the order service's stalled orders could not be read")]
pub struct Unavailable(#[source] OrdersError);

impl ResponseError for Unavailable {
    fn status_code(&self) -> StatusCode {
        StatusCode::SERVICE_UNAVAILABLE
    }

    fn error_response(&self) -> HttpResponse {
        // The cause (URL, status) goes to the log; the client gets the kit's error shape.
        tracing::warn!(error = ?self.0, "GET /stalled failed");
        HttpResponse::build(self.status_code()).json(serde_json::json!({
            "error": "unavailable",
            "message": self.to_string(),
        }))
    }
}

/// The orders past the deadline of their status, as the order service lists them
/// (`GET /orders?stalled=true`), the longest overdue first.
///
/// Staff only. The caller's token is relayed to the order service, which checks it again.
#[utoipa::path(
    get,
    path = "/stalled",
    tag = "flows",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The stalled orders, the longest overdue first", body = crate::orders::StalledOrders),
        (status = 401, description = "No bearer token, or one refused (`WWW-Authenticate` says why)", body = service_kit::api_error::ErrorBody),
        (status = 403, description = "A valid token that is not a staff token", body = service_kit::api_error::ErrorBody),
        (status = 503, description = "The order service could not be read (or refused the relayed token)", body = service_kit::api_error::ErrorBody)
    )
)]
pub async fn show(
    _staff: Staff,
    request: HttpRequest,
    orders: web::Data<Orders>,
) -> Result<HttpResponse, Unavailable> {
    let stalled = orders
        .stalled(bearer_token(&request))
        .await
        .map_err(Unavailable)?;
    Ok(HttpResponse::Ok().json(stalled))
}

/// The token of `Authorization: Bearer <token>`, which the [`Staff`] extractor has verified by
/// the time the handler runs.
fn bearer_token(request: &HttpRequest) -> Option<&str> {
    let value = request.headers().get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
        .filter(|token| !token.is_empty())
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    #[test]
    fn the_relayed_token_is_the_one_after_the_bearer_scheme() {
        let with = |value: &str| {
            TestRequest::default()
                .insert_header((AUTHORIZATION, value))
                .to_http_request()
        };
        assert_eq!(
            bearer_token(&with("Bearer abc.def.ghi")),
            Some("abc.def.ghi")
        );
        assert_eq!(bearer_token(&with("bearer  abc ")), Some("abc"));
        assert_eq!(bearer_token(&with("Basic abc")), None);
        assert_eq!(bearer_token(&with("Bearer ")), None);
        assert_eq!(
            bearer_token(&TestRequest::default().to_http_request()),
            None
        );
    }
}
