//! `GET /flows/{order_id}`: one order's timeline; `GET /flows?limit=`: the latest flows.
//!
//! Staff only: a flow's events carry the customers' orders, ids and payloads.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use service_kit::{ApiError, Staff};
use sqlx::PgPool;
use uuid::Uuid;

use crate::{store, timeline};

/// How many flows one request lists by default, and at most.
const DEFAULT_LIMIT: i64 = 20;
const MAX_LIMIT: i64 = 100;

/// `{"order_id", "services": [...], "events": [...]}`; 404 when no event of the order is known.
///
/// Staff only. The staff extractor comes first, so a caller without a staff token learns
/// nothing, not even whether its order id would parse.
#[utoipa::path(
    get,
    path = "/flows/{order_id}",
    tag = "flows",
    security(("bearer" = [])),
    params(("order_id" = Uuid, Path, description = "The order, i.e. the flow's correlation id")),
    responses(
        (status = 200, description = "The order's events in causal order, each with what caused it", body = crate::timeline::Timeline),
        (status = 400, description = "An order id that is not a UUID", body = service_kit::api_error::ErrorBody),
        (status = 401, description = "No bearer token, or one refused (`WWW-Authenticate` says why)", body = service_kit::api_error::ErrorBody),
        (status = 403, description = "A valid token that is not a staff token", body = service_kit::api_error::ErrorBody),
        (status = 404, description = "No event of the order seen", body = service_kit::api_error::ErrorBody)
    )
)]
pub async fn show(
    _staff: Staff,
    db: web::Data<PgPool>,
    order_id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let order_id = order_id.into_inner();
    let events = store::flow_events(&db, order_id).await?;
    if events.is_empty() {
        return Err(ApiError::not_found(format!(
            "no event of order {order_id} has been seen"
        )));
    }
    Ok(HttpResponse::Ok().json(timeline::build(order_id, events)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RecentQuery {
    /// How many flows, 1 to 100; 20 by default. Not a whole number: 400; out of range: 422.
    // Read as text, so that a value that is not a whole number (or too large for one) is refused
    // naming the parameter, as the document says, rather than with serde's message alone.
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100)]
    limit: Option<String>,
}

impl RecentQuery {
    /// The limit: 20 when absent, else a whole number from 1 to [`MAX_LIMIT`].
    fn limit(&self) -> Result<i64, ApiError> {
        service_kit::page_limit::page_limit(self.limit.as_deref(), DEFAULT_LIMIT, MAX_LIMIT)
    }
}

/// `{"flows": [{"order_id", "events", "first_at", "last_at", "last_routing_key",
/// "compensated"}]}`, latest first; `limit` 1 to 100, 20 by default.
///
/// Staff only.
#[utoipa::path(
    get,
    path = "/flows",
    tag = "flows",
    security(("bearer" = [])),
    params(RecentQuery),
    responses(
        (status = 200, description = "`{\"flows\": [...]}`, latest first", body = serde_json::Value),
        (status = 400, description = "A limit that is not a whole number (or too large for one)", body = service_kit::api_error::ErrorBody),
        (status = 401, description = "No bearer token, or one refused (`WWW-Authenticate` says why)", body = service_kit::api_error::ErrorBody),
        (status = 403, description = "A valid token that is not a staff token", body = service_kit::api_error::ErrorBody),
        (status = 422, description = "A limit out of range", body = service_kit::api_error::ErrorBody)
    )
)]
pub async fn recent(
    _staff: Staff,
    db: web::Data<PgPool>,
    query: web::Query<RecentQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = query.limit()?;
    let flows = store::recent_flows(&db, limit).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "flows": flows })))
}
