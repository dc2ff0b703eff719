//! Where each order's emails go. `order.shipped` carries no address, so the mailer remembers the
//! one given by `order.confirmed` (or `order.cancelled`) for the shipment notice that follows.

use sqlx::PgConnection;
use uuid::Uuid;

/// Remembers `email` for `order_id`. The first address learned stays, except that a known one
/// replaces an empty (legacy) one.
pub async fn remember(
    connection: &mut PgConnection,
    order_id: Uuid,
    email: &str,
    customer_id: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO recipients (order_id, email, customer_id) VALUES ($1, $2, $3)
         ON CONFLICT (order_id) DO UPDATE SET email = EXCLUDED.email
         WHERE recipients.email = '' AND EXCLUDED.email <> ''",
    )
    .bind(order_id)
    .bind(email)
    .bind(customer_id)
    .execute(connection)
    .await?;
    Ok(())
}

/// The address of `order_id`'s emails, if an earlier event gave one (possibly empty: legacy).
pub async fn find(connection: &mut PgConnection, order_id: Uuid) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("SELECT email FROM recipients WHERE order_id = $1")
        .bind(order_id)
        .fetch_optional(connection)
        .await
}
