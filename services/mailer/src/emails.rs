//! The `emails` table: what was sent to whom, at most one email per order and kind.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::compose::Email;

/// How many emails `GET /emails` lists when no order is named.
pub const LATEST_LIMIT: i64 = 100;

/// Records `email` unless one of its kind exists for its order already. Returns the new row's
/// id, or `None` when the email was recorded (and so sent) before: the caller must then do
/// nothing. A concurrent insert of the same key waits here until the other transaction ends.
///
/// `sending` stamps `sent_at` in the same statement: the caller sends before its transaction
/// commits, and a failed send rolls the row back, so a committed stamp means "handed to the mail
/// server" without a second statement to mark it.
pub async fn record(
    connection: &mut PgConnection,
    email: &Email,
    message_id: &str,
    sending: bool,
) -> sqlx::Result<Option<i64>> {
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
}

/// One email as `GET /emails` shows it. `sent_at` is `null` for an email recorded but not sent
/// because its order had no address.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct EmailView {
    pub order_id: Uuid,
    #[sqlx(rename = "recipient")]
    pub to: String,
    pub kind: String,
    pub subject: String,
    pub sent_at: Option<DateTime<Utc>>,
}

/// The emails of `order_id`, oldest first.
pub async fn of_order(pool: &PgPool, order_id: Uuid) -> sqlx::Result<Vec<EmailView>> {
    sqlx::query_as(
        "SELECT order_id, recipient, kind, subject, sent_at FROM emails
         WHERE order_id = $1 ORDER BY sent_at NULLS LAST, id",
    )
    .bind(order_id)
    .fetch_all(pool)
    .await
}

/// The [`LATEST_LIMIT`] most recently recorded emails, oldest first.
pub async fn latest(pool: &PgPool) -> sqlx::Result<Vec<EmailView>> {
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
}
