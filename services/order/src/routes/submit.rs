//! `POST /orders`: validate, store pending with the submission staged, answer 202.

use actix_web::http::header::{HeaderName, LOCATION};
use actix_web::{HttpRequest, HttpResponse, web};
use anyhow::Context;
use event_bus::Outbox;
use serde_json::Value;
use service_kit::ApiError;

use super::AppState;
use crate::domain::{IdempotencyKey, NewOrder, OrderRequest, ValidationError};
use crate::store::{self, OrderView, Submission};

/// The header a client names a submission with, so that a retry does not order twice.
pub const IDEMPOTENCY_KEY: &str = "Idempotency-Key";

/// Answers `true` on a replay: the order was created by an earlier request with the same key.
const REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

/// Submits an order: stored `pending` and announced (`order.v2.submit`); billing and logistics
/// decide the rest. With an `Idempotency-Key`, a retry answers the first order again. While too
/// many orders are pending, it answers 503 (see [`crate::admission`]).
#[utoipa::path(
    post,
    path = "/orders",
    tag = "orders",
    request_body = crate::domain::OrderRequest,
    params(
        ("Idempotency-Key" = Option<String>, Header, description = "Names the submission, so that a retry does not order twice")
    ),
    responses(
        (status = 202, description = "Accepted, pending; `Location` names the order", body = OrderView),
        (status = 400, description = "Unreadable body", body = service_kit::api_error::ErrorBody),
        (status = 422, description = "A rule broken, naming the field", body = service_kit::api_error::ErrorBody),
        (status = 503, description = "Too many orders pending: try again after `Retry-After` seconds (a retry with the same `Idempotency-Key` is safe)", body = service_kit::api_error::ErrorBody)
    )
)]
pub async fn submit(
    request: HttpRequest,
    body: web::Json<Value>,
    outbox: web::Data<Outbox>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let key = idempotency_key(&request)?;
    let order = OrderRequest::from_json(body.into_inner())
        .map_err(|unreadable| ApiError::bad_request(format!("invalid JSON body: {unreadable}")))?;
    let order = NewOrder::parse(order)?;
    // After validation, so that a malformed order is told what is wrong with it even then.
    state.admission.admit()?;
    let submission = store::submit(&outbox, &order, key.as_ref(), state.deadline).await?;
    let (view, replayed) = match submission {
        // The new order as committed, without reading it back.
        Submission::Created(stored) => {
            tracing::info!(order_id = %stored.id, total_cents = order.total_cents(), "order submitted");
            (OrderView::submitted(&stored, &order), false)
        }
        Submission::Existing(id) => {
            let view = store::load(outbox.pool(), id)
                .await?
                .with_context(|| format!("Order {id} vanished after its submission"))?;
            if !is_same_order(&view, &order) {
                return Err(ValidationError::new(
                    IDEMPOTENCY_KEY,
                    "was already used for a different order",
                )
                .into());
            }
            (view, true)
        }
    };
    let id = view.id;
    Ok(HttpResponse::Accepted()
        .insert_header((LOCATION, format!("/orders/{id}")))
        .insert_header((REPLAYED, if replayed { "true" } else { "false" }))
        .json(view))
}

/// The optional `Idempotency-Key` header, validated.
fn idempotency_key(request: &HttpRequest) -> Result<Option<IdempotencyKey>, ValidationError> {
    let Some(value) = request.headers().get(IDEMPOTENCY_KEY) else {
        return Ok(None);
    };
    let raw = value
        .to_str()
        .map_err(|_| ValidationError::new(IDEMPOTENCY_KEY, "must be printable ASCII"))?;
    IdempotencyKey::parse(raw)
        .map(Some)
        .map_err(|message| ValidationError::new(IDEMPOTENCY_KEY, message))
}

/// Whether the stored order is what `order` asks for: same customer, address, currency and
/// lines in the same order. The stored order was validated the same way, so equal requests
/// compare equal.
fn is_same_order(stored: &OrderView, order: &NewOrder) -> bool {
    stored.customer_id == order.customer_id().as_str()
        && stored.email == order.email().as_str()
        && stored.currency == order.currency().as_str()
        && stored.lines.len() == order.lines().len()
        && stored
            .lines
            .iter()
            .zip(order.lines())
            .all(|(stored, line)| {
                stored.sku == line.sku().as_str()
                    && stored.quantity == line.quantity()
                    && stored.unit_price_cents == line.unit_price_cents()
            })
}
