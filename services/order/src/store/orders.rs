//! Writes to the order tables. A status change is only ever made by [`change_status`], which also
//! appends the history row and notifies the waiters, so none of the three can be forgotten.

use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use contracts::order::CancelReason;
use event_bus::{Envelope, EventTransaction, OutboxTransaction};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::announcement::Announcement;
use crate::domain::{
    CustomerId, Decision, IdempotencyKey, Origin, PricedOrder, Progress, Status, Step,
};
use crate::status_feed;

/// What caused a status change, as the order's history shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cause {
    /// The routing key of the event, `http` for a submission, `timeout` for the sweeper.
    pub event: String,
    /// The id of the event's message; `None` when no message caused the change.
    pub message_id: Option<String>,
}

impl Cause {
    pub fn http() -> Self {
        Self {
            event: "http".into(),
            message_id: None,
        }
    }

    pub fn timeout() -> Self {
        Self {
            event: "timeout".into(),
            message_id: None,
        }
    }

    /// The message being handled (its original routing key, even on a retry).
    pub fn message(metadata: &Envelope) -> Self {
        Self {
            event: metadata.routing_key.clone(),
            message_id: Some(metadata.message_id.clone()),
        }
    }
}

/// How [`place`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// The order was stored and its `order.v2.submit` staged.
    Placed(StoredOrder),
    /// The customer already placed an order with this idempotency key: nothing was written.
    KeyUsed,
    /// The customer has `pending` orders pending, as many as the bound allows: nothing was
    /// written (and the key, if any, not looked at).
    CustomerAtLimit { pending: i64 },
}

/// What the database chose for a new order: with the submission itself, all of its first view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredOrder {
    pub id: Uuid,
    /// Also its `updated_at` and the time of its `pending` history entry (one transaction).
    pub created_at: DateTime<Utc>,
    pub deadline_at: DateTime<Utc>,
}

/// Stores `order` as pending with its lines and first history row, and stages `OrderSubmitted`
/// (correlation id = order id), all in `tx`, which it commits, unless its customer already has
/// `max_pending_per_customer` orders pending (0: no bound) or already used `key`.
///
/// One statement, one round trip, checks the bound and inserts: it counts the customer's pending
/// orders (along the partial index `orders_pending_by_customer`, reading at most the bound's
/// number of entries, so the check costs the same however many orders the customer has) and
/// inserts only below the bound.
///
/// The bound is a guard against one customer flooding the shop, not an exact count: under READ
/// COMMITTED, submissions of one customer that run at the same moment do not see each other's
/// uncommitted orders, so each may pass and the customer may end up over the bound by the number
/// of their submissions in flight at once, less one. Serialising a customer's submissions (an
/// advisory lock, one more round trip per order) would make it exact; the cost buys nothing a
/// customer could abuse, since the overshoot is bounded by their own concurrency, and the
/// shop-wide load shedding ([`crate::admission`]) bounds that in turn.
///
/// With a key, a concurrent or earlier submission of the same customer with the same key wins:
/// the unique index on (customer, key) makes `ON CONFLICT DO NOTHING` wait for the other
/// transaction and then insert nothing ([`Placement::KeyUsed`]); which order it was is
/// [`order_for_key`]'s to say. Keys are scoped to the customer: two customers' same key are two
/// orders.
pub async fn place(
    mut tx: OutboxTransaction,
    order: &PricedOrder,
    key: Option<&IdempotencyKey>,
    deadline: Duration,
    max_pending_per_customer: u64,
) -> anyhow::Result<Placement> {
    let id = Uuid::now_v7();
    let bound = i64::try_from(max_pending_per_customer).unwrap_or(i64::MAX);
    let lines = order.lines();
    let cause = Cause::http();
    // The order, its lines and its first history row, or none of them: a key already used or a
    // customer at the bound inserts no order, and the lines and history read its RETURNING.
    let (pending, created_at, deadline_at): (i64, Option<DateTime<Utc>>, Option<DateTime<Utc>>) =
        sqlx::query_as(
            "WITH pending AS (
             SELECT count(*) AS n FROM (
                 SELECT 1 FROM orders WHERE customer_id = $2 AND status = 'pending' LIMIT $14
             ) counted
         ), placed AS (
             INSERT INTO orders (id, customer_id, email, currency, total_cents, status,
                                 deadline_at, idempotency_key, created_at, updated_at,
                                 status_since)
             SELECT $1, $2, $3, $4, $5, 'pending', now() + make_interval(secs => $6), $7,
                    now(), now(), now()
             FROM pending WHERE $14 = 0 OR pending.n < $14
             ON CONFLICT (customer_id, idempotency_key) WHERE idempotency_key IS NOT NULL
                 DO NOTHING
             RETURNING id, created_at, deadline_at
         ), lined AS (
             INSERT INTO order_lines (order_id, position, sku, quantity, unit_price_cents)
             SELECT placed.id, (line.position - 1)::int, line.sku, line.quantity,
                    line.unit_price_cents
             FROM placed, UNNEST($8::text[], $9::int4[], $10::int8[])
                  WITH ORDINALITY AS line (sku, quantity, unit_price_cents, position)
         ), logged AS (
             INSERT INTO order_history (order_id, status, event, message_id, at)
             SELECT placed.id, $11, $12, $13, now() FROM placed
         )
         SELECT pending.n, placed.created_at, placed.deadline_at
         FROM pending LEFT JOIN placed ON true",
        )
        .bind(id)
        .bind(order.customer_id().as_str())
        .bind(order.email().as_str())
        .bind(order.currency().as_str())
        .bind(order.total_cents())
        .bind(deadline.as_secs_f64())
        .bind(key.map(IdempotencyKey::as_str))
        .bind(lines.iter().map(|l| l.sku().as_str()).collect::<Vec<_>>())
        .bind(
            lines
                .iter()
                .map(|l| i32::try_from(l.quantity()))
                .collect::<Result<Vec<_>, _>>()
                .context("A validated quantity does not fit an int4")?,
        )
        .bind(
            lines
                .iter()
                .map(|l| l.unit_price_cents())
                .collect::<Vec<_>>(),
        )
        .bind(Status::Pending.as_str())
        .bind(&cause.event)
        .bind(&cause.message_id)
        .bind(bound)
        .fetch_one(tx.db())
        .await
        .context("Failed to insert an order")?;

    let (Some(created_at), Some(deadline_at)) = (created_at, deadline_at) else {
        tx.rollback()
            .await
            .context("Failed to roll back a submission that placed nothing")?;
        return Ok(if bound != 0 && pending >= bound {
            Placement::CustomerAtLimit { pending }
        } else {
            Placement::KeyUsed
        });
    };
    Announcement::submitted(id, order, created_at)
        .publish(&mut tx)
        .context("Failed to stage order.submit in the outbox")?;
    tx.commit().await.context("Failed to commit a submission")?;
    Ok(Placement::Placed(StoredOrder {
        id,
        created_at,
        deadline_at,
    }))
}

/// The order `customer_id` placed with `key`, if the key is still remembered; served by the
/// unique index on (customer, key).
pub async fn order_for_key(
    pool: &PgPool,
    customer_id: &CustomerId,
    key: &IdempotencyKey,
) -> anyhow::Result<Option<Uuid>> {
    sqlx::query_scalar("SELECT id FROM orders WHERE customer_id = $1 AND idempotency_key = $2")
        .bind(customer_id.as_str())
        .bind(key.as_str())
        .fetch_optional(pool)
        .await
        .context("Failed to find the order an idempotency key was used for")
}

/// An order row locked `FOR UPDATE` for the rest of the transaction: what a decision about it
/// needs, and what the events it causes carry.
#[derive(Debug, Clone)]
pub struct LockedOrder {
    pub id: Uuid,
    pub customer_id: String,
    pub email: String,
    pub currency: String,
    pub total_cents: i64,
    pub progress: Progress,
}

#[derive(sqlx::FromRow)]
struct LockedRow {
    id: Uuid,
    customer_id: String,
    email: String,
    currency: String,
    total_cents: i64,
    status: String,
    charged: bool,
    reserved: bool,
    origin: String,
}

/// Locks the order `id` until the transaction ends, so that answers about one order are applied
/// one after the other, on any instance; `None` if there is no such order.
pub async fn lock(connection: &mut PgConnection, id: Uuid) -> anyhow::Result<Option<LockedOrder>> {
    let row: Option<LockedRow> = sqlx::query_as(
        "SELECT id, customer_id, email, currency, total_cents, status,
                charged_at IS NOT NULL AS charged, reserved_at IS NOT NULL AS reserved, origin
         FROM orders WHERE id = $1 FOR UPDATE",
    )
    .bind(id)
    .fetch_optional(connection)
    .await
    .with_context(|| format!("Failed to lock order {id}"))?;
    row.map(|row| {
        let status = Status::parse(&row.status)
            .with_context(|| format!("Order {id} has an unknown status {:?}", row.status))?;
        let origin = Origin::parse(&row.origin)
            .with_context(|| format!("Order {id} has an unknown origin {:?}", row.origin))?;
        Ok(LockedOrder {
            id: row.id,
            customer_id: row.customer_id,
            email: row.email,
            currency: row.currency,
            total_cents: row.total_cents,
            progress: Progress {
                status,
                charged: row.charged,
                reserved: row.reserved,
                origin,
            },
        })
    })
    .transpose()
}

/// Writes `decision` for the locked `order`: the step, the status with its history row and
/// notification. A step that comes with a status change (the second answer that confirms, a
/// refused foreign order's charge) is written by the statement that changes the status: one
/// round trip and one new version of the row, not two.
pub async fn apply(
    connection: &mut PgConnection,
    order: &LockedOrder,
    decision: &Decision,
    cause: &Cause,
) -> anyhow::Result<()> {
    let change = match decision {
        Decision::Nothing { .. } => return Ok(()),
        Decision::Record(step) => return record_step(connection, order.id, *step).await,
        Decision::Confirm(step) => StatusChange::Confirm { step: *step },
        Decision::Cancel { .. } => cancellation(decision, None)?,
        Decision::Refuse { step } => cancellation(decision, *step)?,
        Decision::Ship { tracking_number } => StatusChange::Ship { tracking_number },
    };
    change_status(connection, order.id, change, cause).await
}

/// The cancellation `decision` asks for, with the step it takes on the way.
fn cancellation(decision: &Decision, step: Option<Step>) -> anyhow::Result<StatusChange<'_>> {
    let (reason, detail) = decision
        .cancellation()
        .context("A decision to cancel without a reason")?;
    Ok(StatusChange::Cancel {
        reason,
        detail,
        step,
    })
}

/// Sets the step's timestamp, once.
async fn record_step(connection: &mut PgConnection, id: Uuid, step: Step) -> anyhow::Result<()> {
    let statement = match step {
        Step::Charged => {
            "UPDATE orders SET charged_at = coalesce(charged_at, now()), updated_at = now()
             WHERE id = $1"
        }
        Step::Reserved => {
            "UPDATE orders SET reserved_at = coalesce(reserved_at, now()), updated_at = now()
             WHERE id = $1"
        }
    };
    sqlx::query(statement)
        .bind(id)
        .execute(connection)
        .await
        .with_context(|| format!("Failed to record {step:?} for order {id}"))?;
    Ok(())
}

/// A status change and what it stores besides the status: a step taken with it, a reason, a
/// tracking number.
enum StatusChange<'a> {
    Confirm {
        step: Step,
    },
    Cancel {
        reason: CancelReason,
        detail: &'a str,
        step: Option<Step>,
    },
    Ship {
        tracking_number: &'a str,
    },
}

async fn change_status(
    connection: &mut PgConnection,
    id: Uuid,
    change: StatusChange<'_>,
    cause: &Cause,
) -> anyhow::Result<()> {
    let (status, step, reason, detail, tracking_number) = match change {
        StatusChange::Confirm { step } => (Status::Confirmed, Some(step), None, None, None),
        StatusChange::Cancel {
            reason,
            detail,
            step,
        } => (
            Status::Cancelled,
            step,
            Some(reason.as_str()),
            Some(detail),
            None,
        ),
        StatusChange::Ship { tracking_number } => {
            (Status::Shipped, None, None, None, Some(tracking_number))
        }
    };
    // One statement, one round trip: the status, its history row and the notification of the
    // waiters (delivered on commit) always go together.
    sqlx::query(
        "WITH changed AS (
             UPDATE orders
             SET status = $2,
                 status_since = now(),
                 charged_at = CASE WHEN $9 THEN coalesce(charged_at, now()) ELSE charged_at END,
                 reserved_at = CASE WHEN $10 THEN coalesce(reserved_at, now())
                                    ELSE reserved_at END,
                 cancel_reason = coalesce($3, cancel_reason),
                 cancel_detail = coalesce($4, cancel_detail),
                 tracking_number = coalesce($5, tracking_number),
                 updated_at = now()
             WHERE id = $1
             RETURNING id
         ), logged AS (
             INSERT INTO order_history (order_id, status, event, message_id, at)
             SELECT id, $2, $6, $7, now() FROM changed
         )
         SELECT pg_notify($8, id::text) FROM changed",
    )
    .bind(id)
    .bind(status.as_str())
    .bind(reason)
    .bind(detail)
    .bind(tracking_number)
    .bind(&cause.event)
    .bind(&cause.message_id)
    .bind(status_feed::CHANNEL)
    .bind(step == Some(Step::Charged))
    .bind(step == Some(Step::Reserved))
    .execute(&mut *connection)
    .await
    .with_context(|| format!("Failed to set order {id} {status}"))?;
    Ok(())
}
