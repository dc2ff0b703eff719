//! Everything the four services wrote, read from their own databases once the shop is quiet.

use std::collections::{BTreeMap, HashMap};

use anyhow::Context;
use sqlx::{PgPool, types::Json};
use uuid::Uuid;

use crate::{service::Service, shop::Shop};

/// An order as the order service stored it.
#[derive(Debug, Clone)]
pub struct Order {
    /// `http` for an order placed through the API, `foreign` for one another producer submitted
    /// (first heard of in billing's or logistics' answer).
    pub origin: String,
    pub status: String,
    pub cancel_reason: Option<String>,
    pub total_cents: i64,
    /// Units per SKU over all its lines.
    pub units: BTreeMap<String, i64>,
}

/// A payment as billing stored it.
#[derive(Debug, Clone)]
pub struct Payment {
    pub status: String,
    pub amount_cents: i64,
}

/// A reservation as logistics stored it.
#[derive(Debug, Clone)]
pub struct Reservation {
    pub status: String,
    pub units: BTreeMap<String, i64>,
}

/// One row of a service's outbox.
#[derive(Debug, Clone)]
pub struct Staged {
    pub message_id: String,
    pub exchange: String,
    pub routing_key: String,
    pub correlation_id: String,
    /// The email kind, for `mailer.*.sent`.
    pub kind: Option<String>,
    pub published: bool,
    pub unroutable: bool,
}

/// The state of the whole shop.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub orders: HashMap<Uuid, Order>,
    /// `(order, status)` pairs the history shows more than once.
    pub repeated_statuses: Vec<(Uuid, String)>,
    pub payments: HashMap<Uuid, Payment>,
    pub reservations: HashMap<Uuid, Reservation>,
    /// `sku → (on_hand, reserved)`.
    pub stock: BTreeMap<String, (i64, i64)>,
    /// Units the supplier delivered, per SKU.
    pub restocked: BTreeMap<String, i64>,
    /// Kinds of the emails of each order, and whether each was sent.
    pub emails: HashMap<Uuid, Vec<(String, bool)>>,
    pub outboxes: BTreeMap<Service, Vec<Staged>>,
    /// Message ids each consumer recorded as handled.
    pub inboxes: BTreeMap<Service, Vec<String>>,
}

impl Snapshot {
    /// Reads every service's tables.
    pub async fn read(shop: &Shop) -> anyhow::Result<Self> {
        let mut snapshot = Self::default();
        read_orders(shop.pool(Service::Order), &mut snapshot).await?;
        read_billing(shop.pool(Service::Billing), &mut snapshot).await?;
        read_logistics(shop.pool(Service::Logistics), &mut snapshot).await?;
        read_mailer(shop.pool(Service::Mailer), &mut snapshot).await?;
        for service in Service::ALL {
            let pool = shop.pool(service);
            snapshot
                .outboxes
                .insert(service, read_outbox(pool, service).await?);
            let inbox: Vec<String> =
                sqlx::query_scalar("SELECT message_id FROM event_bus_inbox WHERE consumer = $1")
                    .bind(event_bus::topology::service_queue(service.name()))
                    .fetch_all(pool)
                    .await
                    .with_context(|| format!("Failed to read the inbox of {service}"))?;
            snapshot.inboxes.insert(service, inbox);
        }
        Ok(snapshot)
    }
}

async fn read_orders(pool: &PgPool, snapshot: &mut Snapshot) -> anyhow::Result<()> {
    /// id, origin, status, cancel reason, total, units per SKU.
    type Row = (
        Uuid,
        String,
        String,
        Option<String>,
        i64,
        Json<BTreeMap<String, i64>>,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT o.id, o.origin, o.status, o.cancel_reason, o.total_cents,
                    (SELECT coalesce(jsonb_object_agg(u.sku, u.units), '{}')
                     FROM (SELECT sku, sum(quantity)::bigint AS units FROM order_lines
                           WHERE order_id = o.id GROUP BY sku) u)
             FROM orders o",
    )
    .fetch_all(pool)
    .await
    .context("Failed to read the orders")?;
    snapshot.orders = rows
        .into_iter()
        .map(|(id, origin, status, cancel_reason, total_cents, units)| {
            (
                id,
                Order {
                    origin,
                    status,
                    cancel_reason,
                    total_cents,
                    units: units.0,
                },
            )
        })
        .collect();
    snapshot.repeated_statuses = sqlx::query_as(
        "SELECT order_id, status FROM order_history GROUP BY order_id, status HAVING count(*) > 1",
    )
    .fetch_all(pool)
    .await
    .context("Failed to read the order history")?;
    Ok(())
}

async fn read_billing(pool: &PgPool, snapshot: &mut Snapshot) -> anyhow::Result<()> {
    let rows: Vec<(Uuid, String, i64)> =
        sqlx::query_as("SELECT order_id, status, amount_cents FROM payments")
            .fetch_all(pool)
            .await
            .context("Failed to read the payments")?;
    snapshot.payments = rows
        .into_iter()
        .map(|(id, status, amount_cents)| {
            (
                id,
                Payment {
                    status,
                    amount_cents,
                },
            )
        })
        .collect();
    Ok(())
}

/// Stock, reservations and deliveries in one snapshot, so that a delivery landing between two
/// reads cannot unbalance the books.
async fn read_logistics(pool: &PgPool, snapshot: &mut Snapshot) -> anyhow::Result<()> {
    let mut tx = pool.begin().await.context("Failed to begin a read")?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .execute(&mut *tx)
        .await
        .context("Failed to make the read a snapshot")?;
    let stock: Vec<(String, i32, i32)> = sqlx::query_as("SELECT sku, on_hand, reserved FROM stock")
        .fetch_all(&mut *tx)
        .await
        .context("Failed to read the stock")?;
    snapshot.stock = stock
        .into_iter()
        .map(|(sku, on_hand, reserved)| (sku, (i64::from(on_hand), i64::from(reserved))))
        .collect();
    let reservations: Vec<(Uuid, String, Json<Vec<ReservedLine>>)> =
        sqlx::query_as("SELECT order_id, status, lines FROM reservations")
            .fetch_all(&mut *tx)
            .await
            .context("Failed to read the reservations")?;
    snapshot.reservations = reservations
        .into_iter()
        .map(|(id, status, lines)| {
            let mut units = BTreeMap::new();
            for line in lines.0 {
                *units.entry(line.sku).or_insert(0) += line.quantity;
            }
            (id, Reservation { status, units })
        })
        .collect();
    let restocked: Vec<(String, i64)> = sqlx::query_as(
        "SELECT sku, sum(quantity)::bigint FROM replenishments
         WHERE done_at IS NOT NULL GROUP BY sku",
    )
    .fetch_all(&mut *tx)
    .await
    .context("Failed to read the replenishments")?;
    snapshot.restocked = restocked.into_iter().collect();
    tx.commit().await.context("Failed to end a read")?;
    Ok(())
}

#[derive(serde::Deserialize)]
struct ReservedLine {
    sku: String,
    quantity: i64,
}

async fn read_mailer(pool: &PgPool, snapshot: &mut Snapshot) -> anyhow::Result<()> {
    let rows: Vec<(Uuid, String, bool)> =
        sqlx::query_as("SELECT order_id, kind, sent_at IS NOT NULL FROM emails")
            .fetch_all(pool)
            .await
            .context("Failed to read the emails")?;
    for (order, kind, sent) in rows {
        snapshot.emails.entry(order).or_default().push((kind, sent));
    }
    Ok(())
}

async fn read_outbox(pool: &PgPool, service: Service) -> anyhow::Result<Vec<Staged>> {
    type Row = (String, String, String, String, Option<String>, bool, bool);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT message_id::text, exchange, routing_key, correlation_id, payload->>'kind',
                published_at IS NOT NULL, unroutable
         FROM event_bus_outbox",
    )
    .fetch_all(pool)
    .await
    .with_context(|| format!("Failed to read the outbox of {service}"))?;
    Ok(rows
        .into_iter()
        .map(
            |(message_id, exchange, routing_key, correlation_id, kind, published, unroutable)| {
                Staged {
                    message_id,
                    exchange,
                    routing_key,
                    correlation_id,
                    kind,
                    published,
                    unroutable,
                }
            },
        )
        .collect())
}
