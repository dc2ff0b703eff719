//! The order as the API shows it, read in one statement so that status, lines and history are
//! one consistent snapshot.

use anyhow::Context;
use chrono::{DateTime, Utc};
use contracts::order::CancelReason;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use sqlx::types::Json;
use uuid::Uuid;

use super::orders::{Cause, StoredOrder};
use crate::domain::{Origin, PricedOrder, Status, parse_cancel_reason};

/// The JSON body of `POST /orders` and `GET /orders/{id}`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OrderView {
    pub id: Uuid,
    pub status: Status,
    /// `http` for an order submitted here; `foreign` for one another producer submitted, which
    /// the service recorded from billing's or logistics' answer to refuse it (cancelled, so that
    /// its charge is refunded and its stock released). A foreign order has no lines, and its
    /// email and currency are empty (unknown); its customer and total are billing's.
    pub origin: Origin,
    pub customer_id: String,
    pub email: String,
    pub currency: String,
    pub lines: Vec<LineView>,
    pub total_cents: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// A pending order still pending at this instant is cancelled with reason `timeout` (a
    /// foreign one is reported as stalled instead).
    pub deadline_at: DateTime<Utc>,
    /// When billing reported the charge (kept even if it came after a cancellation).
    pub charged_at: Option<DateTime<Utc>>,
    /// When logistics reported the reservation (likewise).
    pub reserved_at: Option<DateTime<Utc>>,
    /// Set exactly when `status` is `cancelled`.
    #[schema(value_type = Option<String>, example = "payment_declined")]
    pub cancel_reason: Option<CancelReason>,
    /// Why, in words: the short SKUs, the decline's reason, what was missing at the deadline.
    pub cancel_detail: Option<String>,
    /// The carrier's number, once shipped.
    pub tracking_number: Option<String>,
    /// Every status the order took, oldest first.
    pub history: Vec<HistoryEntry>,
}

/// A line as stored: at the catalog's price when the order was submitted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LineView {
    pub sku: String,
    pub quantity: u32,
    /// The catalog's unit price at submission, in cents: what billing charges.
    pub unit_price_cents: i64,
}

/// One status change and what caused it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HistoryEntry {
    pub status: Status,
    pub at: DateTime<Utc>,
    /// The routing key of the causing event (`billing.v1.charged`), `http` or `timeout`.
    pub event: String,
    /// The causing message's id; `null` for `http` and `timeout`.
    pub message_id: Option<String>,
}

impl OrderView {
    /// A new order as [`crate::store::place`] committed it: pending, with its one history entry.
    pub fn submitted(stored: &StoredOrder, order: &PricedOrder) -> Self {
        Self {
            id: stored.id,
            status: Status::Pending,
            origin: Origin::Http,
            customer_id: order.customer_id().as_str().to_owned(),
            email: order.email().as_str().to_owned(),
            currency: order.currency().as_str().to_owned(),
            lines: order
                .lines()
                .iter()
                .map(|line| LineView {
                    sku: line.sku().as_str().to_owned(),
                    quantity: line.quantity(),
                    unit_price_cents: line.unit_price_cents(),
                })
                .collect(),
            total_cents: order.total_cents(),
            created_at: stored.created_at,
            updated_at: stored.created_at,
            deadline_at: stored.deadline_at,
            charged_at: None,
            reserved_at: None,
            cancel_reason: None,
            cancel_detail: None,
            tracking_number: None,
            history: vec![HistoryEntry {
                status: Status::Pending,
                at: stored.created_at,
                event: Cause::http().event,
                message_id: None,
            }],
        }
    }
}

#[derive(sqlx::FromRow)]
struct OrderRow {
    id: Uuid,
    status: String,
    origin: String,
    customer_id: String,
    email: String,
    currency: String,
    total_cents: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    deadline_at: DateTime<Utc>,
    charged_at: Option<DateTime<Utc>>,
    reserved_at: Option<DateTime<Utc>>,
    cancel_reason: Option<String>,
    cancel_detail: Option<String>,
    tracking_number: Option<String>,
    lines: Json<Vec<LineView>>,
    history: Json<Vec<HistoryEntry>>,
}

/// Reads order `id`; `None` if there is no such order.
pub async fn load(pool: &PgPool, id: Uuid) -> anyhow::Result<Option<OrderView>> {
    let row: Option<OrderRow> = sqlx::query_as(
        "SELECT o.id, o.status, o.origin, o.customer_id, o.email, o.currency, o.total_cents,
                o.created_at, o.updated_at, o.deadline_at, o.charged_at, o.reserved_at,
                o.cancel_reason, o.cancel_detail, o.tracking_number,
                (SELECT coalesce(json_agg(json_build_object(
                            'sku', l.sku, 'quantity', l.quantity,
                            'unit_price_cents', l.unit_price_cents) ORDER BY l.position), '[]')
                 FROM order_lines l WHERE l.order_id = o.id) AS lines,
                (SELECT coalesce(json_agg(json_build_object(
                            'status', h.status, 'at', h.at, 'event', h.event,
                            'message_id', h.message_id) ORDER BY h.id), '[]')
                 FROM order_history h WHERE h.order_id = o.id) AS history
         FROM orders o WHERE o.id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await
    .with_context(|| format!("Failed to read order {id}"))?;
    row.map(OrderView::try_from).transpose()
}

impl TryFrom<OrderRow> for OrderView {
    type Error = anyhow::Error;

    fn try_from(row: OrderRow) -> anyhow::Result<Self> {
        let status = Status::parse(&row.status)
            .with_context(|| format!("Order {} has an unknown status {:?}", row.id, row.status))?;
        let origin = Origin::parse(&row.origin)
            .with_context(|| format!("Order {} has an unknown origin {:?}", row.id, row.origin))?;
        let cancel_reason = row
            .cancel_reason
            .map(|raw| {
                parse_cancel_reason(&raw).with_context(|| {
                    format!("Order {} has an unknown cancel reason {raw:?}", row.id)
                })
            })
            .transpose()?;
        Ok(Self {
            id: row.id,
            status,
            origin,
            customer_id: row.customer_id,
            email: row.email,
            currency: row.currency,
            lines: row.lines.0,
            total_cents: row.total_cents,
            created_at: row.created_at,
            updated_at: row.updated_at,
            deadline_at: row.deadline_at,
            charged_at: row.charged_at,
            reserved_at: row.reserved_at,
            cancel_reason,
            cancel_detail: row.cancel_detail,
            tracking_number: row.tracking_number,
            history: row.history.0,
        })
    }
}
