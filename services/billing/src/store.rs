//! All of billing's SQL: customers, payments and cancellation tombstones.
//!
//! The rule: a caller that moves money first calls [`lock_account`], which creates the customer
//! if needed and locks its row until the transaction ends. Everything read after that lock is
//! read by new statements, so (in PostgreSQL's default `READ COMMITTED`) it sees whatever the
//! previous holder of the lock committed.

use anyhow::Context;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::domain::{Account, Payment, PaymentStatus};

/// The cancellation tombstones: a submit arriving after its cancellation charges nothing.
pub use service_kit::tombstone::{is_cancelled, record_cancellation};

/// A refund that was just made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refund {
    pub customer_id: String,
    pub amount_cents: i64,
}

/// Creates the customer with `default_credit_cents` unless it exists, then locks its row until
/// the end of the transaction and reads its credit.
pub async fn lock_account(
    connection: &mut PgConnection,
    customer_id: &str,
    default_credit_cents: i64,
) -> anyhow::Result<Account> {
    sqlx::query(
        "INSERT INTO customers (id, credit_limit_cents) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    )
    .bind(customer_id)
    .bind(default_credit_cents)
    .execute(&mut *connection)
    .await
    .context("Failed to create the customer")?;
    let credit_limit_cents: i64 =
        sqlx::query_scalar("SELECT credit_limit_cents FROM customers WHERE id = $1 FOR UPDATE")
            .bind(customer_id)
            .fetch_one(&mut *connection)
            .await
            .context("Failed to lock the customer")?;
    // A separate statement, so its snapshot is taken after the lock was granted.
    let charged_cents = charged_cents(connection, customer_id).await?;
    Ok(Account {
        credit_limit_cents,
        charged_cents,
    })
}

async fn charged_cents(connection: &mut PgConnection, customer_id: &str) -> anyhow::Result<i64> {
    sqlx::query_scalar(
        "SELECT COALESCE(SUM(amount_cents), 0)::BIGINT FROM payments
         WHERE customer_id = $1 AND status = 'charged'",
    )
    .bind(customer_id)
    .fetch_one(connection)
    .await
    .context("Failed to sum the customer's charges")
}

/// Whether the order was ever charged (and maybe refunded since).
pub async fn payment_exists(connection: &mut PgConnection, order_id: Uuid) -> anyhow::Result<bool> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM payments WHERE order_id = $1)")
        .bind(order_id)
        .fetch_one(connection)
        .await
        .context("Failed to look the payment up")
}

/// Records a charge; `false` if the order had one already (the primary key decides).
pub async fn record_charge(
    connection: &mut PgConnection,
    order_id: Uuid,
    customer_id: &str,
    amount_cents: i64,
) -> anyhow::Result<bool> {
    let inserted = sqlx::query(
        "INSERT INTO payments (order_id, customer_id, amount_cents, status)
         VALUES ($1, $2, $3, 'charged') ON CONFLICT DO NOTHING",
    )
    .bind(order_id)
    .bind(customer_id)
    .bind(amount_cents)
    .execute(connection)
    .await
    .context("Failed to record the charge")?;
    Ok(inserted.rows_affected() == 1)
}

/// Refunds the order's payment if it is still `charged`; `None` if there is nothing to refund.
pub async fn refund(
    connection: &mut PgConnection,
    order_id: Uuid,
) -> anyhow::Result<Option<Refund>> {
    let refunded: Option<(String, i64)> = sqlx::query_as(
        "UPDATE payments SET status = 'refunded', refunded_at = now()
         WHERE order_id = $1 AND status = 'charged'
         RETURNING customer_id, amount_cents",
    )
    .bind(order_id)
    .fetch_optional(connection)
    .await
    .context("Failed to refund the payment")?;
    Ok(refunded.map(|(customer_id, amount_cents)| Refund {
        customer_id,
        amount_cents,
    }))
}

/// Sets the customer's credit limit, creating the customer if needed.
pub async fn set_credit_limit(
    connection: &mut PgConnection,
    customer_id: &str,
    credit_limit_cents: i64,
) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO customers (id, credit_limit_cents) VALUES ($1, $2)
         ON CONFLICT (id) DO UPDATE
         SET credit_limit_cents = EXCLUDED.credit_limit_cents, updated_at = now()",
    )
    .bind(customer_id)
    .bind(credit_limit_cents)
    .execute(connection)
    .await
    .context("Failed to set the credit limit")?;
    Ok(())
}

/// The customer's stored credit limit; `None` for a customer billing has never seen (reading
/// does not create it).
pub async fn credit_limit(
    connection: &mut PgConnection,
    customer_id: &str,
) -> anyhow::Result<Option<i64>> {
    sqlx::query_scalar("SELECT credit_limit_cents FROM customers WHERE id = $1")
        .bind(customer_id)
        .fetch_optional(connection)
        .await
        .context("Failed to read the customer")
}

/// The customer's payments, oldest first.
pub async fn payments(
    connection: &mut PgConnection,
    customer_id: &str,
) -> anyhow::Result<Vec<Payment>> {
    let rows: Vec<(Uuid, i64, String)> = sqlx::query_as(
        "SELECT order_id, amount_cents, status FROM payments
         WHERE customer_id = $1 ORDER BY charged_at, order_id",
    )
    .bind(customer_id)
    .fetch_all(connection)
    .await
    .context("Failed to read the customer's payments")?;
    rows.into_iter()
        .map(|(order_id, amount_cents, status)| {
            Ok(Payment {
                order_id,
                amount_cents,
                status: PaymentStatus::try_from(status).map_err(anyhow::Error::msg)?,
            })
        })
        .collect()
}
