//! The batch transaction: deliveries that waited together are recorded in the inbox and handled
//! in one transaction, each handler after a savepoint; when the transaction itself fails, each is
//! handled again alone.
//!
//! A database out of reach is not a failure of a message: when acquiring a connection, beginning,
//! a statement of the runtime's or of a handler, or the commit fails because the database cannot
//! be reached (see [`HandlerError::is_database_unavailable`]), the deliveries not yet settled are
//! given back to the queue unacked, with no attempt counted, and the worker reports the outage so
//! that the consumer pauses until the database answers (see [`super::worker`]).

use lapin::message::Delivery;
use sqlx::{Connection, PgConnection, Postgres, pool::PoolConnection};
use tracing::Instrument;

use crate::{
    consumer::{
        receive::{Ready, receive},
        route::{Applied, Step},
        worker::QueueRuntime,
    },
    error::{DecodeError, Error, HandlerError},
    inbox,
    layer::Handling,
    outbox::Staged,
};

/// How handling one message ended.
#[derive(Debug)]
pub(crate) enum Outcome {
    Handled,
    Duplicate,
    Undecodable(DecodeError),
    Failed(HandlerError),
    /// The database could not be reached: nothing was applied, and the message is given back.
    Unavailable(String),
}

/// A connection a worker keeps between transactions while deliveries keep coming.
pub(crate) type HeldConnection = Option<PoolConnection<Postgres>>;

impl QueueRuntime {
    /// Handles deliveries to their end (ack, retry or dead letter): together in one transaction
    /// when there are several, each alone if that fails. When the database is out of reach, gives
    /// back what is not settled yet and returns why.
    pub(crate) async fn handle_batch(
        &self,
        held: &mut HeldConnection,
        batch: Vec<Delivery>,
    ) -> Option<String> {
        let mut ready = Vec::with_capacity(batch.len());
        for delivery in batch {
            match receive(
                &self.queue,
                &self.routes,
                &self.senders,
                self.max_message_bytes,
                delivery,
            ) {
                Ok(item) => ready.push(item),
                Err(unhandleable) => {
                    let (received, reason) = *unhandleable;
                    self.dispose(received, Outcome::Undecodable(reason)).await
                }
            }
        }
        if ready.len() > 1 {
            match self.apply_together(held, &ready).await {
                Ok(outcomes) => {
                    for (item, outcome) in ready.into_iter().zip(outcomes) {
                        self.dispose(item.received, outcome).await;
                    }
                    return None;
                }
                Err(Outcome::Unavailable(reason)) => {
                    self.give_back(ready, &reason).await;
                    return Some(reason);
                }
                Err(outcome) => {
                    // What failed is logged again, with its message, when handled alone.
                    tracing::debug!(
                        queue = %self.queue,
                        deliveries = ready.len(),
                        outcome = ?outcome,
                        "batch rolled back; handling its deliveries one by one"
                    );
                    metrics::counter!("bus_batches_split_total", "queue" => self.queue.clone())
                        .increment(1);
                }
            }
        }
        let mut ready = ready.into_iter();
        while let Some(item) = ready.next() {
            let outcome = match self.apply_together(held, std::slice::from_ref(&item)).await {
                Ok(mut outcomes) => outcomes.pop().unwrap_or(Outcome::Handled),
                Err(outcome) => outcome,
            };
            if let Outcome::Unavailable(reason) = outcome {
                self.give_back(std::iter::once(item).chain(ready), &reason)
                    .await;
                return Some(reason);
            }
            self.dispose(item.received, outcome).await;
        }
        None
    }

    /// How a handler transaction begins: with its statements bounded by twice the handler
    /// timeout when the session allows them longer or without bound (`SET LOCAL`, in the same
    /// round trip as `BEGIN`).
    ///
    /// A handler that times out is dropped, but its statement goes on inside PostgreSQL, holding
    /// its locks and the message's inbox row; the retry's inbox insert would wait on that row
    /// outside any handler bound, and with it the worker and the queue. Bounded this way, the
    /// abandoned statement ends soon after the handler was given up on. Twice, so that a handler
    /// that hangs on a statement fails by its own timeout, whose reason names the handler.
    pub(crate) fn begin_statement(&self) -> String {
        if self.handler_timeout_ms == 0 {
            return "BEGIN".to_owned();
        }
        let bound = self.handler_timeout_ms.saturating_mul(2);
        format!(
            "BEGIN; SELECT set_config('statement_timeout', '{bound}ms', true) \
             WHERE current_setting('statement_timeout')::interval = interval '0' \
             OR current_setting('statement_timeout')::interval > interval '{bound} milliseconds'"
        )
    }

    /// Hands deliveries back to the queue unacked, as they were: no attempt is counted.
    async fn give_back(&self, items: impl IntoIterator<Item = Ready>, reason: &str) {
        for item in items {
            self.dispose(item.received, Outcome::Unavailable(reason.to_owned()))
                .await;
        }
    }

    /// Records `items` in the inbox and applies the new ones in one transaction; the outcome of
    /// each, or, when the transaction failed and everything was rolled back, why.
    async fn apply_together(
        &self,
        held: &mut HeldConnection,
        items: &[Ready],
    ) -> Result<Vec<Outcome>, Outcome> {
        let result = self.transaction(held, items).await;
        if result.is_err() {
            // A failed statement can leave the connection in any state: take a fresh one.
            held.take();
        }
        result
    }

    async fn transaction(
        &self,
        held: &mut HeldConnection,
        items: &[Ready],
    ) -> Result<Vec<Outcome>, Outcome> {
        let connection = match held {
            Some(connection) => connection,
            None => held.insert(
                self.pool
                    .acquire()
                    .await
                    .map_err(|error| unreachable("acquiring a connection", error))?,
            ),
        };
        let mut tx = connection
            .begin_with(self.begin_statement())
            .await
            .map_err(|error| unreachable("beginning the handler transaction", error))?;
        let keys: Vec<(&str, &str)> = items
            .iter()
            .map(|item| {
                (
                    item.envelope.message_id.as_str(),
                    item.envelope.routing_key.as_str(),
                )
            })
            .collect();
        let mut new = inbox::record_all(&mut tx, &self.queue, &keys)
            .await
            .map_err(|error| failure(error.into()))?;
        // Without savepoints, a failure rolls the whole transaction back.
        let savepoints = self.savepoint_per_handler && items.len() > 1;
        // Whether the last savepoint taken is still the state of the transaction: true while no
        // handler has taken the transaction since (see `HandlerContext::db`), so that handlers
        // that never touch the database (an audit that only counts, a router that only
        // publishes) share one savepoint instead of paying a round trip each.
        let mut saved = false;
        let mut staged = Staged::default();
        let mut outcomes = Vec::with_capacity(items.len());
        for item in items {
            // `remove`: a message id that comes twice in one batch is applied once.
            if !new.remove(&item.envelope.message_id) {
                outcomes.push(Outcome::Duplicate);
                continue;
            }
            if savepoints && !saved {
                savepoint(&mut tx, "SAVEPOINT handler").await?;
                saved = true;
            }
            let staged_before = staged.len();
            let mut touched = false;
            let step = Step {
                connection: &mut tx,
                handling: Handling {
                    queue: &self.queue,
                    envelope: &item.envelope,
                    trace: item.received.trace,
                },
                payload: &item.received.delivery.data,
                staged: &mut staged,
                touched: &mut touched,
                layers: &self.layers,
            };
            let applied = item
                .route
                .apply(step)
                .instrument(item.received.span.clone())
                .await;
            saved &= !touched;
            let failed = match applied {
                Applied::Done => {
                    outcomes.push(Outcome::Handled);
                    continue;
                }
                Applied::Undecodable(reason) => Outcome::Undecodable(reason),
                Applied::Failed(error) => failure(error),
            };
            if !savepoints || matches!(failed, Outcome::Unavailable(_)) {
                return Err(failed);
            }
            if touched {
                savepoint(&mut tx, "ROLLBACK TO SAVEPOINT handler").await?;
            }
            staged.truncate(staged_before);
            inbox::forget(&mut tx, &self.queue, &item.envelope.message_id)
                .await
                .map_err(|error| failure(error.into()))?;
            saved = false;
            outcomes.push(failed);
        }
        staged
            .write(&mut tx)
            .await
            .map_err(|error| failure(error.into()))?;
        tx.commit()
            .await
            .map_err(|error| db_failure("committing the handler transaction", error))?;
        if !staged.is_empty() {
            self.relay_wake.wake();
        }
        Ok(outcomes)
    }
}

/// Sets or rolls back to the savepoint taken before each handler of a batch.
async fn savepoint(connection: &mut PgConnection, statement: &'static str) -> Result<(), Outcome> {
    sqlx::query(statement)
        .execute(connection)
        .await
        .map(drop)
        .map_err(|error| db_failure("moving the savepoint of a batched handler", error))
}

/// A database failure around the handler: an outage when the database is out of reach, else
/// retried like a handler's own failure.
fn db_failure(context: &'static str, error: sqlx::Error) -> Outcome {
    failure(Error::db(context)(error).into())
}

/// A failure to get a transaction at all: never the message's fault, whatever the error says.
fn unreachable(context: &'static str, error: sqlx::Error) -> Outcome {
    Outcome::Unavailable(Error::db(context)(error).to_string())
}

/// A failure that uses up an attempt, unless the database was out of reach.
fn failure(error: HandlerError) -> Outcome {
    if error.is_database_unavailable() {
        Outcome::Unavailable(format!("{error}"))
    } else {
        Outcome::Failed(error)
    }
}
