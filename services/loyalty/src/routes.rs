//! The HTTP API: `GET /points/{customer_id}`, and the OpenAPI document derived from it.
//!
//! Who may call: a customer's points are theirs to read, and staff's to read for anyone.

use actix_web::{HttpResponse, web};
use serde::Serialize;
use service_kit::{ApiError, Identity};
use sqlx::PgPool;
use utoipa::OpenApi;

use crate::domain::CustomerId;
use crate::store;

/// The service's OpenAPI document, derived from the handler's annotations.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "loyalty",
        description = "Awards loyalty points for confirmed orders."
    ),
    paths(points)
)]
pub struct ApiDoc;

/// Registers loyalty's route and its document; the pool comes from the kit.
pub fn configure(config: &mut web::ServiceConfig) {
    service_kit::openapi::document(config, ApiDoc::openapi());
    config.route("/points/{customer_id}", web::get().to(points));
}

/// A customer's points: the body of `GET /points/{customer_id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Points {
    pub customer_id: String,
    /// One per whole unit of each confirmed order's total.
    pub points: i64,
    /// The confirmed orders that earned them.
    pub orders: i64,
}

/// The customer's points and how many orders earned them.
///
/// Staff, or the customer themselves. Zeros for a customer without confirmed orders.
#[utoipa::path(
    get,
    path = "/points/{customer_id}",
    tag = "points",
    params(("customer_id" = String, Path, description = "The customer's id", min_length = 1, max_length = 100, pattern = r"^[^\x00-\x1f\x7f-\x9f]+$")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The customer's points", body = Points),
        (status = 401, description = "No valid bearer token", body = service_kit::api_error::ErrorBody),
        (status = 403, description = "A customer other than this one, or a token without a role of the shop", body = service_kit::api_error::ErrorBody),
        (status = 422, description = "An invalid customer id", body = service_kit::api_error::ErrorBody)
    )
)]
pub async fn points(
    caller: Identity,
    customer_id: web::Path<String>,
    pool: web::Data<PgPool>,
) -> Result<HttpResponse, ApiError> {
    // Access before validation: a customer learns nothing about ids that are not theirs.
    caller.require_access_to(&customer_id)?;
    let customer_id = CustomerId::parse(&customer_id)
        .map_err(|message| ApiError::validation("customer_id", message))?;
    let balance = store::balance(&pool, customer_id.as_str()).await?;
    Ok(HttpResponse::Ok().json(Points {
        customer_id: customer_id.as_str().to_owned(),
        points: balance.points,
        orders: balance.orders,
    }))
}
