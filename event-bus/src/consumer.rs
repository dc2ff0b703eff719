//! The consuming side: from a delivery to an ack.
//!
//! For each delivery: read its [`Envelope`](crate::Envelope) and find the route of the event it
//! is (its routing key, or for a retried message the key it first arrived with), decode it into
//! the newest type, begin a transaction, record the message id in the inbox, run the handler
//! inside its [layers](crate::layer), commit, and only then ack.
//!
//! Deliveries that are already waiting when a worker is free may share one transaction, up to
//! `batch_size`: one inbox statement, the handlers one after the other, one outbox statement and
//! one commit for all of them, which is what a delivery mostly costs (round trips to PostgreSQL
//! and a WAL flush). Each handler of a batch runs after a savepoint: when one fails, its own
//! writes, staged events and inbox row are rolled back and its message is retried as if alone,
//! while the others commit, so no handler runs twice because another failed. (A new savepoint is
//! taken only once a handler has taken the transaction since the last one: handlers that never
//! touch the database share one.) A consumer whose
//! handlers only write to the database can turn the savepoints off (`savepoint_per_handler`):
//! a failure then rolls the whole batch back, and each of its deliveries is handled again in a
//! transaction of its own, as it is when the transaction itself fails (begin, inbox, commit, a
//! lost connection). Each of the `concurrency` workers keeps its database connection while
//! deliveries keep coming, and gives it back to the pool before it waits.
//!
//! What cannot be decoded goes to `<queue>.dead` at once with the reason; a failing (or
//! panicking) handler's message goes to the retry queue of its attempt, and after the last one to
//! `<queue>.dead` with the error and the attempt count. Every path ends in an ack of the original,
//! after the copy was confirmed by the broker: a poison message never blocks the queue, and
//! nothing is lost on the way.
//!
//! One file per concern:
//! - [`route`]: the routes of a queue (decoder + handler per event family) and their lookup.
//! - [`receive`]: a delivery read off the wire: its envelope, its route, its span.
//! - [`worker`]: the consume loop and its workers, batching what waits together.
//! - [`transaction`]: the batch transaction with its inbox rows and savepoints.
//! - [`disposition`]: ack, retry or dead-letter, once the transaction is over.
//! - [`observability`]: the counters of how messages ended.

mod disposition;
mod observability;
mod receive;
mod route;
mod transaction;
mod worker;

pub use route::AnyEvent;
pub(crate) use route::{OBSERVER, Route, Routes, observer_route, typed_route};
pub(crate) use worker::{ConsumeEnd, QueueRuntime};
