//! All of the mailer's SQL: the order lock, the `recipients` table (where each order's emails
//! go) and the `emails` table (what was sent to whom, at most one email per order and kind).

use anyhow::Context;
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::domain::Email;

/// How many emails [`latest_emails`] lists.
pub const LATEST_LIMIT: i64 = 100;

/// One row of `emails`, without its body. `sent_at` is `None` for an email recorded but not
/// sent because its order had no address.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct EmailRecord {
    pub order_id: Uuid,
    #[sqlx(rename = "recipient")]
    pub to: String,
    pub kind: String,
    pub subject: String,
    pub sent_at: Option<DateTime<Utc>>,
}

/// Takes the order's transaction-scoped advisory lock: the handling of one order's events is
/// serialised across handlers and instances, until commit.
pub async fn lock_order(connection: &mut PgConnection, order_id: Uuid) -> anyhow::Result<()> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1::text, 0))")
        .bind(order_id)
        .execute(connection)
        .await
        .context("Failed to lock the order")?;
    Ok(())
}

/// Remembers `email` as the address of `order_id`'s emails: `order.shipped` carries none, so
/// the shipment notice uses the one given by `order.confirmed` (or `order.cancelled`). The first
/// address learned stays, except that a known one replaces an empty (legacy) one.
pub async fn remember_recipient(
    connection: &mut PgConnection,
    order_id: Uuid,
    email: &str,
    customer_id: &str,
) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO recipients (order_id, email, customer_id) VALUES ($1, $2, $3)
         ON CONFLICT (order_id) DO UPDATE SET email = EXCLUDED.email
         WHERE recipients.email = '' AND EXCLUDED.email <> ''",
    )
    .bind(order_id)
    .bind(email)
    .bind(customer_id)
    .execute(connection)
    .await
    .context("Failed to remember the recipient")?;
    Ok(())
}

/// The address of `order_id`'s emails, if an earlier event gave one (possibly empty: legacy).
pub async fn recipient_of(
    connection: &mut PgConnection,
    order_id: Uuid,
) -> anyhow::Result<Option<String>> {
    sqlx::query_scalar("SELECT email FROM recipients WHERE order_id = $1")
        .bind(order_id)
        .fetch_optional(connection)
        .await
        .context("Failed to look the recipient up")
}

/// Records `email` unless one of its kind exists for its order already. Returns the new row's
/// id, or `None` when the email was recorded (and so sent) before: the caller must then do
/// nothing. A concurrent insert of the same key waits here until the other transaction ends.
///
/// `sending` stamps `sent_at` in the same statement: the caller sends before its transaction
/// commits, and a failed send rolls the row back, so a committed stamp means "handed to the mail
/// server" without a second statement to mark it.
pub async fn record_email(
    connection: &mut PgConnection,
    email: &Email,
    message_id: &str,
    sending: bool,
) -> anyhow::Result<Option<i64>> {
    sqlx::query_scalar(
        "INSERT INTO emails (order_id, recipient, kind, subject, body, message_id, sent_at)
         VALUES ($1, $2, $3, $4, $5, $6, CASE WHEN $7 THEN now() END)
         ON CONFLICT (order_id, kind) DO NOTHING
         RETURNING id",
    )
    .bind(email.order_id)
    .bind(&email.to)
    .bind(email.kind.as_str())
    .bind(&email.subject)
    .bind(&email.body)
    .bind(message_id)
    .bind(sending)
    .fetch_optional(connection)
    .await
    .context("Failed to record the email")
}

/// The emails of `order_id`, oldest first.
pub async fn emails_of_order(pool: &PgPool, order_id: Uuid) -> anyhow::Result<Vec<EmailRecord>> {
    sqlx::query_as(
        "SELECT order_id, recipient, kind, subject, sent_at FROM emails
         WHERE order_id = $1 ORDER BY sent_at NULLS LAST, id",
    )
    .bind(order_id)
    .fetch_all(pool)
    .await
    .context("Failed to read the emails of an order")
}

/// The [`LATEST_LIMIT`] most recently recorded emails, oldest first.
pub async fn latest_emails(pool: &PgPool) -> anyhow::Result<Vec<EmailRecord>> {
    sqlx::query_as(
        "SELECT order_id, recipient, kind, subject, sent_at FROM (
             SELECT id, order_id, recipient, kind, subject, sent_at FROM emails
             ORDER BY id DESC LIMIT $1
         ) AS latest
         ORDER BY sent_at NULLS LAST, id",
    )
    .bind(LATEST_LIMIT)
    .fetch_all(pool)
    .await
    .context("Failed to read the latest emails")
}
