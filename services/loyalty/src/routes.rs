//! The HTTP API: `GET /points/{customer_id}`. Loyalty has no OpenAPI document of its own and
//! serves the kit's, titled `loyalty`.

use actix_web::{HttpResponse, web};
use service_kit::ApiError;
use sqlx::PgPool;

use crate::store;

/// Registers loyalty's route; the pool comes from the kit.
pub fn configure(config: &mut web::ServiceConfig) {
    config.route("/points/{customer_id}", web::get().to(points));
}

/// `GET /points/{customer_id}` → `{"customer_id", "points", "orders"}`, zeros for a customer
/// without confirmed orders.
pub async fn points(
    pool: web::Data<PgPool>,
    customer_id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let balance = store::balance(&pool, &customer_id).await?;
    let body = serde_json::json!({
        "customer_id": *customer_id,
        "points": balance.points,
        "orders": balance.orders,
    });
    Ok(HttpResponse::Ok().json(body))
}
