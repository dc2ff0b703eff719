//! The inbox: which messages a consumer has already applied.
//!
//! The message id is inserted in the handler's own transaction. A redelivery or a duplicate finds
//! the row and is acked without running the handler again; two instances racing on the same
//! message serialise on the primary key, and the loser sees the winner's row once it commits.

use sqlx::PgConnection;

use crate::error::{Error, Result};

/// Records `message_id` for `consumer`; `false` when it was recorded before (a duplicate).
pub async fn record(
    connection: &mut PgConnection,
    consumer: &str,
    message_id: &str,
    routing_key: &str,
) -> Result<bool> {
    let inserted = sqlx::query(
        "INSERT INTO event_bus_inbox (consumer, message_id, routing_key) VALUES ($1, $2, $3)
         ON CONFLICT DO NOTHING",
    )
    .bind(consumer)
    .bind(message_id)
    .bind(routing_key)
    .execute(connection)
    .await
    .map_err(Error::db("recording the message in the inbox"))?;
    Ok(inserted.rows_affected() == 1)
}
