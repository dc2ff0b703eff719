//! `GET /emails?order_id=<uuid>`: what the customer of an order was sent, oldest first.
//!
//! Without `order_id` it lists the latest 100 emails (oldest of them first): a quick look at what
//! the mailer has been doing, which needs no id at hand. A present `order_id` that is empty or not
//! a UUID is a 400 (the kit's query configuration answers it with the JSON error body).
//!
//! Staff only: the list crosses customers (addresses, what they ordered and when), and no
//! customer may read another's mail.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use service_kit::{ApiError, Staff};
use sqlx::PgPool;
use uuid::Uuid;

use crate::store::{self, EmailRecord};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EmailsQuery {
    /// Only this order's emails; without it, the latest 100.
    order_id: Option<Uuid>,
}

/// One email as `GET /emails` shows it. `sent_at` is `null` for an email recorded but not sent
/// because its order had no address.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EmailView {
    pub order_id: Uuid,
    pub to: String,
    pub kind: String,
    pub subject: String,
    pub sent_at: Option<DateTime<Utc>>,
}

impl From<EmailRecord> for EmailView {
    fn from(record: EmailRecord) -> Self {
        Self {
            order_id: record.order_id,
            to: record.to,
            kind: record.kind,
            subject: record.subject,
            sent_at: record.sent_at,
        }
    }
}

/// The emails of one order, or the latest 100, oldest first.
///
/// Staff only.
#[utoipa::path(
    get,
    path = "/emails",
    tag = "emails",
    params(EmailsQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The emails, oldest first", body = Vec<EmailView>),
        (status = 400, description = "An `order_id` that is not a UUID", body = service_kit::api_error::ErrorBody),
        (status = 401, description = "No valid bearer token", body = service_kit::api_error::ErrorBody),
        (status = 403, description = "A caller who is not staff", body = service_kit::api_error::ErrorBody)
    )
)]
pub async fn list(
    // Only its presence matters: the extractor admits staff alone.
    _staff: Staff,
    pool: web::Data<PgPool>,
    query: web::Query<EmailsQuery>,
) -> Result<HttpResponse, ApiError> {
    let found = match query.order_id {
        Some(order_id) => store::emails_of_order(&pool, order_id).await?,
        None => store::latest_emails(&pool).await?,
    };
    let views: Vec<EmailView> = found.into_iter().map(EmailView::from).collect();
    Ok(HttpResponse::Ok().json(views))
}
