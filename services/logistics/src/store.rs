//! All of logistics' SQL: stock, reservations, cancellation tombstones and replenishments.
//!
//! The rules callers follow: [`lock_order`] first, then stock rows in SKU order (through
//! [`lock_stock`], or the updates of [`release`] and [`ship`], which take the row locks in the
//! order of the lines they are given: sorted).

use anyhow::Context;
use chrono::{DateTime, Utc};
use contracts::logistics::ReservedLine;
use sqlx::types::Json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::domain::{Level, ReservationStatus};

/// The cancellation tombstones: a submit arriving after its cancellation reserves nothing.
pub use service_kit::tombstone::{is_cancelled, record_cancellation};

/// An order's reservation.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Reservation {
    pub lines: Json<Vec<ReservedLine>>,
    #[sqlx(try_from = "String")]
    pub status: ReservationStatus,
    pub tracking_number: Option<String>,
}

/// A replenishment the supplier just delivered.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Delivery {
    pub id: i64,
    pub sku: String,
    pub quantity: i32,
}

/// Why [`set_on_hand`] could not set the count.
#[derive(Debug)]
pub enum SetOnHandError {
    /// More units than that are reserved for orders.
    BelowReserved {
        reserved: i32,
    },
    Unexpected(anyhow::Error),
}

/// Takes the order's transaction-scoped advisory lock: the submit, cancellation and
/// confirmation of one order run one after the other, on any instance.
pub async fn lock_order(connection: &mut PgConnection, order_id: Uuid) -> anyhow::Result<()> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1::text, 0))")
        .bind(order_id.to_string())
        .execute(connection)
        .await
        .context("Failed to lock the order")?;
    Ok(())
}

/// The order's reservation, if it has one.
pub async fn reservation(
    connection: &mut PgConnection,
    order_id: Uuid,
) -> anyhow::Result<Option<Reservation>> {
    sqlx::query_as("SELECT lines, status, tracking_number FROM reservations WHERE order_id = $1")
        .bind(order_id)
        .fetch_optional(connection)
        .await
        .context("Failed to read the reservation")
}

/// Creates the SKU with `default_stock` units unless it exists, then locks its row until the
/// end of the transaction and reads it.
pub async fn lock_stock(
    connection: &mut PgConnection,
    sku: &str,
    default_stock: i32,
) -> anyhow::Result<Level> {
    sqlx::query(
        "INSERT INTO stock (sku, on_hand, reserved) VALUES ($1, $2, 0) ON CONFLICT DO NOTHING",
    )
    .bind(sku)
    .bind(default_stock)
    .execute(&mut *connection)
    .await
    .with_context(|| format!("Failed to create the stock of {sku}"))?;
    let (on_hand, reserved): (i32, i32) =
        sqlx::query_as("SELECT on_hand, reserved FROM stock WHERE sku = $1 FOR UPDATE")
            .bind(sku)
            .fetch_one(connection)
            .await
            .with_context(|| format!("Failed to lock the stock of {sku}"))?;
    Ok(Level { on_hand, reserved })
}

/// Sets `quantity` units of a locked SKU aside.
pub async fn reserve(
    connection: &mut PgConnection,
    sku: &str,
    quantity: i32,
) -> anyhow::Result<()> {
    sqlx::query("UPDATE stock SET reserved = reserved + $2, updated_at = now() WHERE sku = $1")
        .bind(sku)
        .bind(quantity)
        .execute(connection)
        .await
        .with_context(|| format!("Failed to reserve {quantity} of {sku}"))?;
    Ok(())
}

/// Records the order's reservation of `lines`.
pub async fn insert_reservation(
    connection: &mut PgConnection,
    order_id: Uuid,
    lines: &[ReservedLine],
) -> anyhow::Result<()> {
    sqlx::query("INSERT INTO reservations (order_id, lines, status) VALUES ($1, $2, 'reserved')")
        .bind(order_id)
        .bind(Json(lines))
        .execute(connection)
        .await
        .context("Failed to record the reservation")?;
    Ok(())
}

/// Gives the reserved `lines` back to stock and marks the reservation released.
pub async fn release(
    connection: &mut PgConnection,
    order_id: Uuid,
    lines: &[ReservedLine],
) -> anyhow::Result<()> {
    for line in sorted(lines) {
        let quantity = quantity(line)?;
        let updated = sqlx::query(
            "UPDATE stock SET reserved = reserved - $2, updated_at = now() WHERE sku = $1",
        )
        .bind(&line.sku)
        .bind(quantity)
        .execute(&mut *connection)
        .await
        .with_context(|| format!("Failed to release {quantity} of {}", line.sku))?;
        anyhow::ensure!(
            updated.rows_affected() == 1,
            "no stock row for {}",
            line.sku
        );
    }
    sqlx::query(
        "UPDATE reservations SET status = 'released', released_at = now() WHERE order_id = $1",
    )
    .bind(order_id)
    .execute(connection)
    .await
    .context("Failed to mark the reservation released")?;
    Ok(())
}

/// Takes the reserved `lines` out of stock (on hand and reserved) and marks the reservation
/// shipped with its tracking number.
pub async fn ship(
    connection: &mut PgConnection,
    order_id: Uuid,
    lines: &[ReservedLine],
    tracking_number: &str,
    shipped_at: DateTime<Utc>,
) -> anyhow::Result<()> {
    for line in sorted(lines) {
        let quantity = quantity(line)?;
        let updated = sqlx::query(
            "UPDATE stock SET on_hand = on_hand - $2, reserved = reserved - $2, updated_at = now()
             WHERE sku = $1",
        )
        .bind(&line.sku)
        .bind(quantity)
        .execute(&mut *connection)
        .await
        .with_context(|| format!("Failed to ship {quantity} of {}", line.sku))?;
        anyhow::ensure!(
            updated.rows_affected() == 1,
            "no stock row for {}",
            line.sku
        );
    }
    sqlx::query(
        "UPDATE reservations SET status = 'shipped', tracking_number = $2, shipped_at = $3
         WHERE order_id = $1",
    )
    .bind(order_id)
    .bind(tracking_number)
    .bind(shipped_at)
    .execute(connection)
    .await
    .context("Failed to mark the reservation shipped")?;
    Ok(())
}

/// Lines in SKU order, the order stock rows are locked in.
fn sorted(lines: &[ReservedLine]) -> Vec<&ReservedLine> {
    let mut sorted: Vec<&ReservedLine> = lines.iter().collect();
    sorted.sort_by(|a, b| a.sku.cmp(&b.sku));
    sorted
}

fn quantity(line: &ReservedLine) -> anyhow::Result<i32> {
    i32::try_from(line.quantity).with_context(|| {
        format!(
            "{} units of {} do not fit a stock row",
            line.quantity, line.sku
        )
    })
}

/// Whether the supplier is already asked for more of `sku`.
pub async fn replenishment_pending(
    connection: &mut PgConnection,
    sku: &str,
) -> anyhow::Result<bool> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM replenishments WHERE sku = $1 AND done_at IS NULL)",
    )
    .bind(sku)
    .fetch_one(connection)
    .await
    .context("Failed to look pending replenishments up")
}

/// Asks the supplier for `quantity` units of `sku`, due in `delay_ms`; `false` if one is
/// pending already (the unique index decides).
pub async fn request_replenishment(
    connection: &mut PgConnection,
    sku: &str,
    quantity: i32,
    delay_ms: i64,
) -> anyhow::Result<bool> {
    let inserted = sqlx::query(
        "INSERT INTO replenishments (sku, quantity, due_at)
         VALUES ($1, $2, now() + make_interval(secs => $3::double precision / 1000))
         ON CONFLICT (sku) WHERE done_at IS NULL DO NOTHING",
    )
    .bind(sku)
    .bind(quantity)
    .bind(delay_ms)
    .execute(connection)
    .await
    .with_context(|| format!("Failed to request a replenishment of {sku}"))?;
    Ok(inserted.rows_affected() == 1)
}

/// The supplier's round, in one transaction: claims the due replenishments (skipping those
/// another instance holds), adds their units to stock in SKU order, and marks them done.
pub async fn deliver_due(pool: &PgPool) -> anyhow::Result<Vec<Delivery>> {
    let mut tx = pool
        .begin()
        .await
        .context("Failed to begin a supplier round")?;
    let due: Vec<Delivery> = sqlx::query_as(
        "SELECT id, sku, quantity FROM replenishments
         WHERE done_at IS NULL AND due_at <= now()
         ORDER BY sku LIMIT 100 FOR UPDATE SKIP LOCKED",
    )
    .fetch_all(&mut *tx)
    .await
    .context("Failed to claim due replenishments")?;
    for delivery in &due {
        // Saturating: a count set near the column's limit must not block every later delivery.
        sqlx::query(
            "UPDATE stock SET on_hand = on_hand + LEAST($2, 2147483647 - on_hand),
                              updated_at = now()
             WHERE sku = $1",
        )
        .bind(&delivery.sku)
        .bind(delivery.quantity)
        .execute(&mut *tx)
        .await
        .with_context(|| format!("Failed to restock {}", delivery.sku))?;
    }
    let ids: Vec<i64> = due.iter().map(|delivery| delivery.id).collect();
    sqlx::query("UPDATE replenishments SET done_at = now() WHERE id = ANY($1)")
        .bind(&ids)
        .execute(&mut *tx)
        .await
        .context("Failed to mark replenishments done")?;
    tx.commit()
        .await
        .context("Failed to commit a supplier round")?;
    Ok(due)
}

/// The SKU's stock level; `None` for a SKU logistics has never seen (reading does not create
/// it).
pub async fn stock_level(
    connection: &mut PgConnection,
    sku: &str,
) -> anyhow::Result<Option<Level>> {
    let stored: Option<(i32, i32)> =
        sqlx::query_as("SELECT on_hand, reserved FROM stock WHERE sku = $1")
            .bind(sku)
            .fetch_optional(connection)
            .await
            .with_context(|| format!("Failed to read the stock of {sku}"))?;
    Ok(stored.map(|(on_hand, reserved)| Level { on_hand, reserved }))
}

/// Sets the units on hand of `sku` (creating it with nothing reserved), unless more than that
/// are reserved; returns the new level.
pub async fn set_on_hand(
    connection: &mut PgConnection,
    sku: &str,
    on_hand: i32,
) -> Result<Level, SetOnHandError> {
    let updated: Option<(i32, i32)> = sqlx::query_as(
        "INSERT INTO stock (sku, on_hand, reserved) VALUES ($1, $2, 0)
         ON CONFLICT (sku) DO UPDATE SET on_hand = EXCLUDED.on_hand, updated_at = now()
         WHERE stock.reserved <= EXCLUDED.on_hand
         RETURNING on_hand, reserved",
    )
    .bind(sku)
    .bind(on_hand)
    .fetch_optional(&mut *connection)
    .await
    .with_context(|| format!("Failed to set the stock of {sku}"))
    .map_err(SetOnHandError::Unexpected)?;
    if let Some((on_hand, reserved)) = updated {
        return Ok(Level { on_hand, reserved });
    }
    // The row exists and was locked by the upsert: its reserved count is still the one that
    // refused the update.
    let reserved: i32 = sqlx::query_scalar("SELECT reserved FROM stock WHERE sku = $1")
        .bind(sku)
        .fetch_one(connection)
        .await
        .with_context(|| format!("Failed to read the stock of {sku}"))
        .map_err(SetOnHandError::Unexpected)?;
    Err(SetOnHandError::BelowReserved { reserved })
}
