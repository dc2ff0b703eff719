//! The one path of a new order: price it from the catalog, place it (within its customer's
//! bound on pending orders, under the customer's idempotency key), announce it.
//!
//! The catalog is read in the submission's transaction, in one query for all of the order's
//! SKUs: one connection taken from the pool per order, not two (each one given back costs a
//! round trip to PostgreSQL, sqlx's check of the connection). The read takes no lock: a price
//! changed between that read and the commit is a price changed a moment after the order, which
//! is charged at the price it was accepted with, the one its answer shows.
//!
//! A refusal (a stale price, an unknown SKU, the customer's bound) first asks whether the
//! request is a retry of an order the customer already placed with the same key: the retry of an
//! accepted order answers that order, whatever the catalog or the customer's pending orders say
//! since. Only refusals pay for that look-up; an accepted order costs the catalog read and the
//! one statement that inserts it.

use std::time::Duration;

use anyhow::Context;
use event_bus::{EventTransaction, Outbox};
use service_kit::ApiError;
use uuid::Uuid;

use crate::domain::{IdempotencyKey, NewOrder, PricedOrder, PricingError};
use crate::store::{self, Placement, StoredOrder};

/// What a customer over their bound is told to wait, in seconds: an order leaves `pending`
/// within a second or so, once billing and logistics have answered.
const RETRY_AFTER_SECS: u64 = 1;

/// The rules a submission is placed under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    /// How long a new order may stay pending.
    pub deadline: Duration,
    /// How many orders one customer may have pending at once; 0: no bound.
    pub max_pending_per_customer: u64,
}

/// How [`submit`] ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Submission {
    /// A new order, as committed and priced.
    Created(StoredOrder, PricedOrder),
    /// The customer placed an order with this idempotency key before: this one, nothing was
    /// written. Whether it is what the request asks is the caller's question.
    Existing(Uuid),
}

/// Why [`submit`] placed nothing.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    /// The catalog refuses the order (422 unknown SKU, 409 stale price).
    #[error("the order cannot be priced: {0:?}")]
    Pricing(PricingError),
    /// The customer has as many orders pending as the bound allows → 429.
    #[error("{customer_id} has {pending} orders pending, the bound is {bound}")]
    TooManyPending {
        customer_id: String,
        pending: i64,
        bound: u64,
    },
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<SubmitError> for ApiError {
    fn from(error: SubmitError) -> Self {
        match error {
            SubmitError::Pricing(refused) => refused.into(),
            SubmitError::TooManyPending { pending, bound, .. } => {
                metrics::counter!("orders_refused_total", "reason" => "customer_pending")
                    .increment(1);
                ApiError::too_many_requests(
                    format!(
                        "the customer has {pending} orders pending, the most one customer may \
                         have at once is {bound}; try again once one is confirmed or cancelled"
                    ),
                    RETRY_AFTER_SECS,
                )
            }
            SubmitError::Unexpected(cause) => cause.into(),
        }
    }
}

/// Prices `order` from the catalog and places it under `key`, within `rules`.
///
/// A key already used by the customer answers that order ([`Submission::Existing`]). A key
/// forgotten between the conflict and the look-up of its order ([`crate::key_retention`]) is
/// free: the submission is tried once more, and then places a new order, as it would have a
/// moment later.
pub async fn submit(
    outbox: &Outbox,
    order: &NewOrder,
    key: Option<&IdempotencyKey>,
    rules: Rules,
) -> Result<Submission, SubmitError> {
    for _ in 0..2 {
        let mut tx = outbox
            .begin()
            .await
            .context("Failed to begin the transaction of a submission")?;
        let prices = store::prices(tx.db(), &order.skus()).await?;
        let priced = match order.priced(&prices) {
            Ok(priced) => priced,
            Err(refused) => {
                tx.rollback()
                    .await
                    .context("Failed to end the transaction of a refused submission")?;
                return match earlier(outbox, order, key).await? {
                    Some(id) => Ok(Submission::Existing(id)),
                    None => Err(SubmitError::Pricing(refused)),
                };
            }
        };
        let placement = store::place(
            tx,
            &priced,
            key,
            rules.deadline,
            rules.max_pending_per_customer,
        )
        .await?;
        match placement {
            Placement::Placed(stored) => return Ok(Submission::Created(stored, priced)),
            Placement::CustomerAtLimit { pending } => {
                return match earlier(outbox, order, key).await? {
                    Some(id) => Ok(Submission::Existing(id)),
                    None => Err(SubmitError::TooManyPending {
                        customer_id: order.customer_id().as_str().to_owned(),
                        pending,
                        bound: rules.max_pending_per_customer,
                    }),
                };
            }
            Placement::KeyUsed => {
                if let Some(id) = earlier(outbox, order, key).await? {
                    return Ok(Submission::Existing(id));
                }
            }
        }
    }
    Err(anyhow::anyhow!(
        "An idempotency key conflicted twice with an order that was then not found"
    )
    .into())
}

/// The order the customer of `order` placed earlier with `key`, if there is a key and it is
/// remembered.
async fn earlier(
    outbox: &Outbox,
    order: &NewOrder,
    key: Option<&IdempotencyKey>,
) -> anyhow::Result<Option<Uuid>> {
    match key {
        Some(key) => store::order_for_key(outbox.pool(), order.customer_id(), key).await,
        None => Ok(None),
    }
}
