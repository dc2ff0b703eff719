//! Handlers: plain async functions of a typed event, run inside the transaction that records the
//! message in the inbox.
//!
//! The runtime begins the transaction, records the message id, calls the handler, commits, and only
//! then acks. A handler never acks, never opens its own transaction, and publishes what it causes
//! through [`EventTransaction::publish`], which stages it in the outbox of that same transaction:
//! the state change, the inbox row and the caused events commit together or not at all.
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
    envelope::Envelope,
    error::{HandlerResult, Result},
    event::Event,
    message::OutgoingMessage,
    outbox::{EventTransaction, Staged},
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

/// The handler's view of the message and of the transaction it runs in; it publishes through
/// [`EventTransaction`].
pub struct HandlerContext<'a> {
    connection: &'a mut PgConnection,
    envelope: &'a Envelope,
    /// What the handler published, written to the outbox by the runtime before the commit.
    staged: &'a mut Staged,
    /// Set once the handler has taken the transaction: only then can it have written to it, and
    /// only then does the next handler of a batch need a savepoint of its own.
    touched: &'a mut bool,
}

impl<'a> HandlerContext<'a> {
    pub(crate) fn new(
        connection: &'a mut PgConnection,
        envelope: &'a Envelope,
        staged: &'a mut Staged,
        touched: &'a mut bool,
    ) -> Self {
        Self {
            connection,
            envelope,
            staged,
            touched,
        }
    }

    /// Identifiers, producer and attempt of the message being handled.
    pub fn metadata(&self) -> &Envelope {
        self.envelope
    }

    /// The open transaction: everything done through it commits with the inbox record. (The
    /// same as [`EventTransaction::db`], without the trait in scope.)
    pub fn db(&mut self) -> &mut PgConnection {
        *self.touched = true;
        self.connection
    }
}

impl EventTransaction for HandlerContext<'_> {
    fn db(&mut self) -> &mut PgConnection {
        HandlerContext::db(self)
    }

    /// Stages `event` in the flow of the message being handled, as caused by it. The runtime
    /// writes it to the outbox when the handler returns and wakes the relay once the transaction
    /// has committed. Fails only when the event cannot be encoded.
    fn publish<E: Event>(&mut self, event: &E) -> Result<String> {
        let flow = self.envelope.flow_id().to_owned();
        self.publish_in(&flow, event)
    }

    fn publish_in<E: Event>(&mut self, flow: &str, event: &E) -> Result<String> {
        let cause = Some(self.envelope.message_id.clone());
        Ok(self.staged.push(OutgoingMessage::new(event, flow, cause)?))
    }
}
