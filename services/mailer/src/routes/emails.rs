//! `GET /emails?order_id=<uuid>`: what the customer of an order was sent, oldest first.
//!
//! Without `order_id` it lists the latest 100 emails (oldest of them first): a quick look at what
//! the mailer has been doing, which needs no id at hand. A present `order_id` that is empty or not
//! a UUID is a 400 (the kit's query configuration answers it with the JSON error body).

use actix_web::{HttpResponse, web};
use anyhow::Context;
use serde::Deserialize;
use service_kit::ApiError;
use sqlx::PgPool;
use uuid::Uuid;

use crate::emails;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EmailsQuery {
    /// Only this order's emails; without it, the latest 100.
    order_id: Option<Uuid>,
}

#[utoipa::path(
    get,
    path = "/emails",
    tag = "emails",
    params(EmailsQuery),
    responses(
        (status = 200, description = "The emails, oldest first", body = Vec<crate::emails::EmailView>),
        (status = 400, description = "An `order_id` that is not a UUID", body = service_kit::api_error::ErrorBody)
    )
)]
pub async fn list(
    pool: web::Data<PgPool>,
    query: web::Query<EmailsQuery>,
) -> Result<HttpResponse, ApiError> {
    let found = match query.order_id {
        Some(order_id) => emails::of_order(&pool, order_id)
            .await
            .context("Failed to read the emails of an order")?,
        None => emails::latest(&pool)
            .await
            .context("Failed to read the latest emails")?,
    };
    Ok(HttpResponse::Ok().json(found))
}
