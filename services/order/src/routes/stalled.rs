//! `GET /orders?stalled=true[&limit=]`: the orders past the deadline of their status (see
//! [`crate::stalled`]), for operators: staff only.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use service_kit::{ApiError, Staff};
use sqlx::PgPool;

use super::AppState;
use crate::store::{self, StalledOrder};

/// How many stalled orders one request lists by default, and at most.
const DEFAULT_LIMIT: i64 = 100;
const MAX_LIMIT: i64 = 1000;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StalledQuery {
    /// Must be `true`: only the stalled orders can be listed. Read as text, so that a bad value
    /// is refused naming the parameter.
    #[param(value_type = String, required = true, pattern = "^true$", example = "true")]
    stalled: Option<String>,
    /// How many orders, 1 to 1000; 100 by default. Read as text, likewise.
    #[param(value_type = Option<i64>, minimum = 1, maximum = 1000)]
    limit: Option<String>,
}

impl StalledQuery {
    fn check_stalled(&self) -> Result<(), ApiError> {
        match self.stalled.as_deref() {
            Some("true") => Ok(()),
            None => Err(ApiError::bad_request(
                "invalid query string: `stalled=true` is required, only the stalled orders can \
                 be listed",
            )),
            Some(raw) => Err(ApiError::bad_request(format!(
                "invalid query string: `stalled` must be `true`, not {raw:?}"
            ))),
        }
    }

    fn limit(&self) -> Result<i64, ApiError> {
        service_kit::page_limit::page_limit(self.limit.as_deref(), DEFAULT_LIMIT, MAX_LIMIT)
    }
}

/// The answer of `GET /orders?stalled=true`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StalledOrders {
    /// The longest overdue first.
    pub orders: Vec<StalledOrder>,
}

/// The stalled orders: pending or confirmed past the deadline of their status
/// (`deadline_secs`, `confirmed_deadline_secs`), the longest overdue first. A stalled order is
/// not cancelled (its charge and reservation may be right): a confirmed one waits for a lost
/// `order.v1.confirmed` or `logistics.v1.shipped`, whose dead letter is replayed with
/// `shopctl dead replay`; a pending `foreign` one waits for billing's answer.
///
/// Staff only. An operator endpoint: it lists every customer's orders.
#[utoipa::path(
    get,
    path = "/orders",
    tag = "operations",
    security(("bearer" = [])),
    params(StalledQuery),
    responses(
        (status = 200, description = "The stalled orders, the longest overdue first", body = StalledOrders),
        (status = 400, description = "`stalled` missing or not `true`, or `limit` not a whole number", body = service_kit::api_error::ErrorBody),
        (status = 401, description = "No valid bearer token", body = service_kit::api_error::ErrorBody),
        (status = 403, description = "Not staff", body = service_kit::api_error::ErrorBody),
        (status = 422, description = "A `limit` out of range", body = service_kit::api_error::ErrorBody)
    )
)]
pub async fn list(
    _staff: Staff,
    query: web::Query<StalledQuery>,
    pool: web::Data<PgPool>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    query.check_stalled()?;
    let limit = query.limit()?;
    let orders = store::stalled(&pool, state.confirmed_deadline, limit).await?;
    Ok(HttpResponse::Ok().json(StalledOrders { orders }))
}
