//! # event-bus
//!
//! Typed, versioned events over RabbitMQ topic exchanges, delivered at least once and applied
//! exactly once.
//!
//! - [`event`]: the [`Event`] descriptor trait (payload type + exchange + name + version) and the
//!   routing key it implies, `<exchange>.v<version>.<name>`.
//! - [`envelope`]: the [`Envelope`] (ids, flow, cause, version, sender, attempt) every message
//!   carries, with the one encoder to AMQP properties and the one decoder from them.
//! - [`message`]: an envelope and its payload, ready to be published.
//! - [`publisher`]: persistent, `mandatory` publishing with pipelined publisher confirms.
//! - [`outbox`]: stage events in the service's own PostgreSQL transaction, through one door
//!   ([`EventTransaction`]) for handlers and any other transaction; a relay publishes them.
//! - [`inbox`]: records each handled message id in the handler's transaction, so a redelivery
//!   changes nothing twice.
//! - [`handler`]: the [`Handler`] trait and the [`HandlerContext`] a handler works through.
//! - [`topology`]: exchanges, the service's queue, its bindings, retry and dead-letter queues.
//! - [`layer`]: one-concern [`Layer`]s around every handler call (trace, duration, panics, and a
//!   service's own, such as a [`layer::Timeout`]).
//! - [`consumer`]: decodes, deduplicates, runs handlers (several deliveries per transaction when
//!   they wait together), acks after commit, retries and dead-letters.
//! - [`trace_context`]: the W3C `traceparent` carried from an HTTP request through every hop.
//! - [`BrokerTls`]: AMQPS to the broker (the CA to trust, an optional client certificate).
//! - [`bus`]: [`EventBus`], which ties it together: connects with backoff, declares, consumes,
//!   relays, reconnects, and drains on shutdown.
//!
//! The rule the crate enforces: nothing is acked before the transaction it caused has committed,
//! and nothing is published that was not committed.

pub mod bus;
pub mod consumer;
pub mod envelope;
mod error;
pub mod event;
pub mod handler;
pub mod inbox;
pub mod layer;
#[cfg(feature = "management")]
pub mod management;
pub mod message;
pub mod outbox;
pub mod permissions;
pub mod publisher;
pub mod schema;
pub mod senders;
mod settings;
mod supervisor;
mod tls;
pub mod topology;
pub mod trace_context;

pub use bus::{EventBus, RunningBus};
pub use consumer::AnyEvent;
pub use envelope::Envelope;
pub use error::{DecodeError, Error, HandlerError, HandlerResult, Result};
pub use event::Event;
pub use handler::{Handler, HandlerContext};
pub use layer::Layer;
pub use message::OutgoingMessage;
pub use outbox::{EventTransaction, Outbox, OutboxTransaction};
pub use publisher::Publisher;
pub use senders::SenderSettings;
pub use settings::{BrokerSettings, BusSettings, OutboxSettings, QueueType, QuorumSettings};
pub use tls::{BrokerTls, TlsConnectError, TlsError};
pub use trace_context::TraceContext;
#[cfg(feature = "testing")]
pub mod testing;
