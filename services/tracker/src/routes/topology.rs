//! `GET /topology`: exchanges → bindings → queues → services, read from the management API.
//!
//! Staff only: it names every queue and how many messages wait in each, the shop's inner
//! workings.

use actix_web::{HttpResponse, ResponseError, http::StatusCode, web};
use service_kit::Staff;

use crate::management::{Management, ManagementError};
use crate::topology;

/// The management API could not be read: the broker's problem, not the client's, and possibly
/// passing, hence 503.
#[derive(Debug, thiserror::Error)]
#[error("the RabbitMQ management API could not be read")]
pub struct Unavailable(#[source] ManagementError);

impl ResponseError for Unavailable {
    fn status_code(&self) -> StatusCode {
        StatusCode::SERVICE_UNAVAILABLE
    }

    fn error_response(&self) -> HttpResponse {
        // The cause (URL, status) goes to the log; the client gets the kit's error shape.
        tracing::warn!(error = ?self.0, "GET /topology failed");
        HttpResponse::build(self.status_code()).json(serde_json::json!({
            "error": "unavailable",
            "message": self.to_string(),
        }))
    }
}

/// Exchanges, bindings, queues and the services consuming from them, live.
///
/// Staff only.
#[utoipa::path(
    get,
    path = "/topology",
    tag = "topology",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The live topology of the bus's vhost", body = crate::topology::Topology),
        (status = 401, description = "No bearer token, or one refused (`WWW-Authenticate` says why)", body = service_kit::api_error::ErrorBody),
        (status = 403, description = "A valid token that is not a staff token", body = service_kit::api_error::ErrorBody),
        (status = 503, description = "The management API could not be read", body = service_kit::api_error::ErrorBody)
    )
)]
pub async fn show(
    _staff: Staff,
    management: web::Data<Management>,
) -> Result<HttpResponse, Unavailable> {
    let snapshot = management.snapshot().await.map_err(Unavailable)?;
    Ok(HttpResponse::Ok().json(topology::assemble(management.vhost(), snapshot)))
}
