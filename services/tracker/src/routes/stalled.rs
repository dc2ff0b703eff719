//! `GET /stalled`: the order service's stalled orders, passed on for the page (which fetches
//! nothing from another host).

use actix_web::{HttpResponse, ResponseError, http::StatusCode, web};

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
#[utoipa::path(
    get,
    path = "/stalled",
    tag = "flows",
    responses(
        (status = 200, description = "The stalled orders, the longest overdue first", body = crate::orders::StalledOrders),
        (status = 503, description = "The order service could not be read", body = service_kit::api_error::ErrorBody)
    )
)]
pub async fn show(orders: web::Data<Orders>) -> Result<HttpResponse, Unavailable> {
    let stalled = orders.stalled().await.map_err(Unavailable)?;
    Ok(HttpResponse::Ok().json(stalled))
}
