//! `GET /orders/{id}[?wait=<seconds>[&until=confirmed|shipped]]`: the order, or with `wait`, the
//! order as soon as it has got as far as `until` (or when the wait runs out, whichever comes
//! first). The order's customer's, or staff's.

use std::time::Duration;

use actix_web::{HttpResponse, web};
use anyhow::Context;
use serde::Deserialize;
use service_kit::{ApiError, Identity};
use sqlx::PgPool;
use tokio::time::{Instant, MissedTickBehavior};
use uuid::Uuid;

use super::AppState;
use crate::domain::Status;
use crate::status_feed::Waiter;
use crate::store::{self, OrderView};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ShowQuery {
    /// Seconds to hold the answer until the order has got as far as `until`; capped at
    /// `max_wait_secs`. Read as text, so that a bad value is refused naming the parameter.
    #[param(value_type = Option<u64>)]
    wait: Option<String>,
    /// How far the order must get before a held request answers: `confirmed` (the default)
    /// answers once it is no longer pending (confirmed or cancelled), `shipped` once it is
    /// final (shipped or cancelled). Read as text, so that a bad value is refused naming the
    /// parameter.
    #[param(inline, value_type = Option<Until>)]
    until: Option<String>,
}

/// How far a held request waits for the order to get.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum Until {
    /// No longer pending: confirmed, cancelled, or already shipped.
    #[default]
    Confirmed,
    /// Final: shipped or cancelled.
    Shipped,
}

impl Until {
    fn parse(raw: &str) -> Option<Self> {
        match raw {
            "confirmed" => Some(Self::Confirmed),
            "shipped" => Some(Self::Shipped),
            _ => None,
        }
    }

    /// Whether an order in `status` is as far as this asks (or will never get further).
    fn reached_by(self, status: Status) -> bool {
        match self {
            Self::Confirmed => status != Status::Pending,
            Self::Shipped => status.is_final(),
        }
    }
}

impl ShowQuery {
    fn wait(&self) -> Result<Duration, ApiError> {
        let Some(raw) = &self.wait else {
            return Ok(Duration::ZERO);
        };
        raw.parse::<u64>().map(Duration::from_secs).map_err(|_| {
            ApiError::bad_request(format!(
                "invalid query string: `wait` must be a whole number of seconds, not {raw:?}"
            ))
        })
    }

    fn until(&self) -> Result<Until, ApiError> {
        let Some(raw) = &self.until else {
            return Ok(Until::default());
        };
        Until::parse(raw).ok_or_else(|| {
            ApiError::bad_request(format!(
                "invalid query string: `until` must be `confirmed` or `shipped`, not {raw:?}"
            ))
        })
    }
}

/// The order; with `wait`, held until it has got as far as `until` (or the wait runs out).
///
/// A customer, for themselves, or staff. Another customer's order answers exactly as an order
/// that does not exist (404), so that a customer cannot learn whether another's order exists.
/// A customer may have `max_waiting_per_customer` requests held at once (per instance); past
/// it, a request that would be held answers 429 with `Retry-After` (one answered at once never
/// counts).
#[utoipa::path(
    get,
    path = "/orders/{id}",
    tag = "orders",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The order's id"), ShowQuery),
    responses(
        (status = 200, description = "The order", body = OrderView),
        (status = 400, description = "A malformed id, `wait` or `until`", body = service_kit::api_error::ErrorBody),
        (status = 401, description = "No valid bearer token", body = service_kit::api_error::ErrorBody),
        (status = 404, description = "No such order, or another customer's", body = service_kit::api_error::ErrorBody),
        (status = 429, description = "The customer already has as many requests held as one customer may: try again after `Retry-After` seconds", body = service_kit::api_error::ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait")))
    )
)]
pub async fn show(
    identity: Identity,
    id: web::Path<Uuid>,
    query: web::Query<ShowQuery>,
    pool: web::Data<PgPool>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let wait = query.wait()?.min(state.max_wait);
    let until = query.until()?;
    // Before the first read: a change committed between the read and the wait still wakes us.
    // A plain read registers nothing.
    let waiter = (!wait.is_zero()).then(|| state.feed.register(id));
    let order = store::load(&pool, id)
        .await?
        .filter(|order| identity.may_see(&order.customer_id))
        .ok_or_else(|| ApiError::not_found(format!("there is no order {id}")))?;
    let order = match waiter {
        Some(waiter) if !until.reached_by(order.status) => {
            // Held as long as the request is: given back when it answers or its client leaves.
            let _held = state.wait_quota.hold(&identity)?;
            wait_for(&pool, &state, order, until, waiter, wait).await?
        }
        _ => order,
    };
    Ok(HttpResponse::Ok().json(order))
}

/// Re-reads `order` whenever it may have changed (its waiter is woken) or the slow recheck comes
/// round, until it has got as far as `until`, `wait` has passed, or the service stops.
async fn wait_for(
    pool: &PgPool,
    state: &AppState,
    mut order: OrderView,
    until: Until,
    mut waiter: Waiter,
    wait: Duration,
) -> anyhow::Result<OrderView> {
    let id = order.id;
    let give_up = tokio::time::sleep_until(Instant::now() + wait);
    tokio::pin!(give_up);
    let period = state.wait_recheck.max(Duration::from_millis(10));
    let mut recheck = tokio::time::interval_at(Instant::now() + period, period);
    recheck.set_missed_tick_behavior(MissedTickBehavior::Delay);
    while !until.reached_by(order.status) {
        tokio::select! {
            () = &mut give_up => break,
            () = state.shutdown.cancelled() => break,
            _ = recheck.tick() => {}
            () = waiter.changed() => {}
        }
        order = store::load(pool, id)
            .await?
            .with_context(|| format!("Order {id} vanished while a request waited for it"))?;
    }
    Ok(order)
}
