//! `POST /orders`: settle whose order it is, validate, price from the catalog, store pending with
//! the submission staged, answer 202.

use actix_web::http::header::{HeaderName, LOCATION};
use actix_web::{HttpRequest, HttpResponse, web};
use anyhow::Context;
use event_bus::Outbox;
use serde_json::Value;
use service_kit::{ApiError, Identity};

use super::AppState;
use crate::domain::{IdempotencyKey, NewOrder, OrderRequest, Submitter, ValidationError, buyer};
use crate::store::{self, OrderView};
use crate::submission::{self, Rules, Submission};

/// The header a client names a submission with, so that a retry does not order twice.
pub const IDEMPOTENCY_KEY: &str = "Idempotency-Key";

/// Answers `true` on a replay: the order was created by an earlier request with the same key.
const REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

/// Submits an order: priced from the catalog, stored `pending` and announced
/// (`order.v2.submit`); billing and logistics decide the rest.
///
/// A customer, for themselves, or staff. A customer's order is theirs: the token names the
/// customer, and a body that names another is refused (403); staff order on behalf of the
/// customer the body's `customer_id` names (required then). Each line is priced from the catalog
/// (`GET /products`); an unknown SKU is refused (422 naming `lines[i].sku`), and so is the whole
/// order if a line states a `unit_price_cents` that is not the catalog's (409, naming the line
/// and the current price): nothing is stored or charged. With an `Idempotency-Key`, a retry
/// answers the first order again (`Idempotent-Replayed: true`); keys are the customer's own.
/// While the customer has `max_pending_per_customer` orders pending it answers 429, while too
/// many orders are pending in the whole shop 503 (see [`crate::admission`]), both with
/// `Retry-After`.
#[utoipa::path(
    post,
    path = "/orders",
    tag = "orders",
    security(("bearer" = [])),
    request_body = crate::domain::OrderRequest,
    params(
        ("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 200, description = "Names the submission, so that a retry does not order twice; scoped to the customer")
    ),
    responses(
        (status = 202, description = "Accepted, pending, at the catalog's prices; `Location` names the order, `Idempotent-Replayed` says whether it was placed by an earlier request with the same key", body = OrderView,
            headers(
                ("Location" = String, description = "`/orders/{id}`"),
                ("Idempotent-Replayed" = String, description = "`true` for a retry answered with the order placed earlier, `false` otherwise")
            )),
        (status = 400, description = "Unreadable body, a field missing or of the wrong type", body = service_kit::api_error::ErrorBody),
        (status = 401, description = "No valid bearer token", body = service_kit::api_error::ErrorBody),
        (status = 403, description = "A customer ordering for another customer", body = service_kit::api_error::ErrorBody),
        (status = 409, description = "A stated `unit_price_cents` is not the catalog's (the message names the line and the current price; nothing was ordered), or the `Idempotency-Key` was already used by this customer for a different order", body = service_kit::api_error::ErrorBody),
        (status = 413, description = "A body over 64 KiB", body = service_kit::api_error::ErrorBody),
        (status = 422, description = "A rule broken, naming the field: `customer_id` missing (staff) or invalid, `currency` not the shop's, `lines[i].sku` not in the catalog, ...", body = service_kit::api_error::ErrorBody),
        (status = 429, description = "The customer has as many orders pending as one customer may: try again after `Retry-After` seconds", body = service_kit::api_error::ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 503, description = "Too many orders pending in the shop: try again after `Retry-After` seconds (a retry with the same `Idempotency-Key` is safe)", body = service_kit::api_error::ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait")))
    )
)]
pub async fn submit(
    identity: Identity,
    request: HttpRequest,
    body: web::Json<Value>,
    outbox: web::Data<Outbox>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let key = idempotency_key(&request)?;
    let asked = OrderRequest::from_json(body.into_inner())
        .map_err(|unreadable| ApiError::bad_request(format!("invalid JSON body: {unreadable}")))?;
    let submitter = match identity.customer_id() {
        Some(customer_id) => Submitter::Customer(customer_id.as_str()),
        None => Submitter::Staff,
    };
    let customer_id = buyer(submitter, asked.customer_id.as_deref())?;
    let order = NewOrder::parse(asked, customer_id, &state.currency)?;
    // After validation, so that a malformed order is told what is wrong with it even then.
    state.admission.admit()?;
    let rules = Rules {
        deadline: state.deadline,
        max_pending_per_customer: state.max_pending_per_customer,
    };
    let submission = submission::submit(&outbox, &order, key.as_ref(), rules).await?;
    let (view, replayed) = match submission {
        // The new order as committed, without reading it back.
        Submission::Created(stored, priced) => {
            tracing::info!(order_id = %stored.id, customer_id = priced.customer_id().as_str(),
                placed_by = identity.subject(), total_cents = priced.total_cents(), "order submitted");
            (OrderView::submitted(&stored, &priced), false)
        }
        Submission::Existing(id) => {
            let view = store::load(outbox.pool(), id)
                .await?
                .with_context(|| format!("Order {id} vanished after its submission"))?;
            if !is_same_order(&view, &order) {
                // 409, not 422: the request is valid by itself; it conflicts with the order the
                // key already names, as a state change would.
                return Err(ApiError::conflict(format!(
                    "the {IDEMPOTENCY_KEY} was already used for a different order ({id})"
                )));
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
/// lines (SKU and quantity) in the same order, and where a line states a price, the price it was
/// stored at. A retry that states no prices matches whatever the order was priced at; one that
/// states the prices the first answer showed matches even after the catalog changed. The stored
/// order was validated the same way, so equal requests compare equal.
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
                    && line
                        .stated_unit_price_cents()
                        .is_none_or(|stated| stated == stored.unit_price_cents)
            })
}
