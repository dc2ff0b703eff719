//! Handlers: plain async functions of a typed event, run inside the transaction that records the
//! message in the inbox.
//!
//! The runtime begins the transaction, records the message id, calls the handler, commits, and only
//! then acks. A handler never acks, never opens its own transaction, and publishes what it causes
//! through [`HandlerContext::publish`], which stages it in the outbox of that same transaction: the
//! state change, the inbox row and the caused events commit together or not at all.
//!
//! A transaction may carry several deliveries (`bus.batch_size`): their handlers then run one
//! after the other in it, each after a savepoint and seeing what the earlier ones wrote, and the
//! events they stage are written to the outbox in one statement before the commit. A handler that
//! fails has only its own writes and events rolled back; the others of the batch commit. A handler
//! with effects outside the database (an email) runs twice only when the transaction itself fails
//! after it ran, as it would alone. (A consumer whose handlers only write to the database may turn
//! the savepoints off, `bus.savepoint_per_handler`: a failure then has the whole batch handled
//! again, one delivery at a time.)

use std::future::Future;

use sqlx::PgConnection;

use crate::{
    error::{HandlerResult, Result},
    event::Event,
    message::{Metadata, OutgoingMessage},
};

/// Reacts to one event type (or, for an observer, to [`AnyEvent`](crate::consumer::AnyEvent)).
/// Return an error to have the message retried with growing delays and,
/// after the last attempt, dead-lettered with the error text.
pub trait Handler<E>: Send + Sync + 'static {
    fn handle(
        &self,
        ctx: &mut HandlerContext<'_>,
        event: E,
    ) -> impl Future<Output = HandlerResult> + Send;
}

/// The handler's view of the message and of the transaction it runs in.
pub struct HandlerContext<'a> {
    connection: &'a mut PgConnection,
    metadata: &'a Metadata,
    /// What the handler published, written to the outbox by the runtime before the commit.
    staged: &'a mut Vec<OutgoingMessage>,
}

impl<'a> HandlerContext<'a> {
    pub(crate) fn new(
        connection: &'a mut PgConnection,
        metadata: &'a Metadata,
        staged: &'a mut Vec<OutgoingMessage>,
    ) -> Self {
        Self {
            connection,
            metadata,
            staged,
        }
    }

    /// The open transaction: everything done through it commits with the inbox record.
    pub fn db(&mut self) -> &mut PgConnection {
        self.connection
    }

    /// Identifiers, producer and attempt of the message being handled.
    pub fn metadata(&self) -> &Metadata {
        self.metadata
    }

    /// Stages `event` in the outbox of this transaction, in the same flow (correlation id) and
    /// caused by the message being handled. The runtime writes what was staged to the outbox
    /// when the handler returns, in one statement, and wakes the relay of this process once the
    /// transaction has committed. Fails only when the event cannot be encoded.
    pub async fn publish<E: Event>(&mut self, event: &E) -> Result<()> {
        let message = OutgoingMessage::new(
            event,
            self.metadata.flow_id(),
            Some(self.metadata.message_id.clone()),
        )?;
        self.staged.push(message);
        Ok(())
    }
}
