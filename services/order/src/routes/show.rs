//! `GET /orders/{id}[?wait=<seconds>]`: the order, or with `wait`, the order as soon as it is no
//! longer pending (or when the wait runs out, whichever comes first).

use std::time::Duration;

use actix_web::{HttpResponse, web};
use anyhow::Context;
use serde::Deserialize;
use service_kit::ApiError;
use sqlx::PgPool;
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::time::{Instant, MissedTickBehavior};
use uuid::Uuid;

use super::AppState;
use crate::domain::Status;
use crate::order_view::{self, OrderView};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ShowQuery {
    /// Seconds to hold the answer while the order is pending; capped at `max_wait_secs`. Read
    /// as text, so that a bad value is refused naming the parameter.
    #[param(value_type = Option<u64>)]
    wait: Option<String>,
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
}

/// The order; with `wait`, held until it is no longer pending (or the wait runs out).
#[utoipa::path(
    get,
    path = "/orders/{id}",
    tag = "orders",
    params(("id" = Uuid, Path, description = "The order's id"), ShowQuery),
    responses(
        (status = 200, description = "The order", body = OrderView),
        (status = 400, description = "A malformed id or `wait`", body = service_kit::api_error::ErrorBody),
        (status = 404, description = "No such order", body = service_kit::api_error::ErrorBody)
    )
)]
pub async fn show(
    id: web::Path<Uuid>,
    query: web::Query<ShowQuery>,
    pool: web::Data<PgPool>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let wait = query.wait()?.min(state.max_wait);
    // Before the first read: a change committed between the read and the wait still wakes us.
    let changes = state.feed.subscribe();
    let order = order_view::load(&pool, id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("there is no order {id}")))?;
    let order = if order.status == Status::Pending && !wait.is_zero() {
        wait_while_pending(&pool, &state, order, changes, wait).await?
    } else {
        order
    };
    Ok(HttpResponse::Ok().json(order))
}

/// Re-reads `order` whenever its id is notified, a notification may have been lost, or the slow
/// recheck comes round, until it is no longer pending, `wait` has passed, or the service stops.
async fn wait_while_pending(
    pool: &PgPool,
    state: &AppState,
    mut order: OrderView,
    mut changes: broadcast::Receiver<Uuid>,
    wait: Duration,
) -> anyhow::Result<OrderView> {
    let id = order.id;
    let give_up = tokio::time::sleep_until(Instant::now() + wait);
    tokio::pin!(give_up);
    let period = state.wait_recheck.max(Duration::from_millis(10));
    let mut recheck = tokio::time::interval_at(Instant::now() + period, period);
    recheck.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut feed_open = true;
    while order.status == Status::Pending {
        tokio::select! {
            () = &mut give_up => break,
            () = state.shutdown.cancelled() => break,
            _ = recheck.tick() => {}
            received = changes.recv(), if feed_open => match received {
                Ok(changed) if changed != id => continue,
                Ok(_) | Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => {
                    feed_open = false;
                    continue;
                }
            },
        }
        order = order_view::load(pool, id)
            .await?
            .with_context(|| format!("Order {id} vanished while a request waited for it"))?;
    }
    Ok(order)
}
