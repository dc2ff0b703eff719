//! The inbox: which messages a consumer has already applied.
//!
//! Message ids are inserted in the handlers' own transaction. A redelivery or a duplicate finds
//! the row and is acked without running the handler again; two instances racing on the same
//! message serialise on the primary key, and the loser sees the winner's row once it commits.
//!
//! Rows are kept for `bus.inbox_retention_secs` (a week by default) and then [pruned](prune) by
//! the bus: a duplicate that arrives within the retention is still applied once; one that arrives
//! later (a dead letter replayed after months) would be applied again, so the retention must
//! outlast how long a message can be delayed or parked.

use std::collections::HashSet;

use std::time::Duration;

use sqlx::{PgConnection, PgPool};

use crate::error::{Error, Result};

/// Records `message_id` for `consumer`; `false` when it was recorded before (a duplicate).
pub async fn record(
    connection: &mut PgConnection,
    consumer: &str,
    message_id: &str,
    routing_key: &str,
) -> Result<bool> {
    let new = record_all(connection, consumer, &[(message_id, routing_key)]).await?;
    Ok(!new.is_empty())
}

/// Records every `(message_id, routing_key)` for `consumer` in one statement, and returns the ids
/// that were not recorded before. An id given twice is recorded once.
pub async fn record_all(
    connection: &mut PgConnection,
    consumer: &str,
    messages: &[(&str, &str)],
) -> Result<HashSet<String>> {
    let (ids, keys): (Vec<&str>, Vec<&str>) = messages.iter().copied().unzip();
    let new: Vec<String> = sqlx::query_scalar(
        "INSERT INTO event_bus_inbox (consumer, message_id, routing_key)
         SELECT $1, message_id, routing_key FROM unnest($2::text[], $3::text[])
              AS messages (message_id, routing_key)
         ON CONFLICT DO NOTHING
         RETURNING message_id",
    )
    .bind(consumer)
    .bind(ids)
    .bind(keys)
    .fetch_all(connection)
    .await
    .map_err(Error::db("recording messages in the inbox"))?;
    Ok(new.into_iter().collect())
}

/// Removes `message_id` of `consumer` again: for a message whose handler failed in a batch that
/// commits, so that its retry is not taken for a duplicate.
pub(crate) async fn forget(
    connection: &mut PgConnection,
    consumer: &str,
    message_id: &str,
) -> Result<()> {
    sqlx::query("DELETE FROM event_bus_inbox WHERE consumer = $1 AND message_id = $2")
        .bind(consumer)
        .bind(message_id)
        .execute(connection)
        .await
        .map_err(Error::db("removing a failed message from the inbox"))?;
    Ok(())
}

/// Deletes the rows of messages handled longer than `retention` ago; returns how many.
pub async fn prune(pool: &PgPool, retention: Duration) -> Result<u64> {
    let deleted = sqlx::query(
        "DELETE FROM event_bus_inbox WHERE handled_at < now() - make_interval(secs => $1)",
    )
    .bind(retention.as_secs_f64())
    .execute(pool)
    .await
    .map_err(Error::db("pruning the inbox"))?;
    Ok(deleted.rows_affected())
}
