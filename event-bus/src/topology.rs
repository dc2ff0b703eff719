//! What a service declares on the broker.
//!
//! - a durable topic exchange per producing service it publishes to or binds from;
//! - its one durable queue, `<service>.queue` ([`service_queue`]), bound to the patterns of its
//!   handlers (`order.*.submit` on exchange `order`), shared by all its instances as competing
//!   consumers. It is never named like an exchange: RabbitMQ's permissions are regular expressions
//!   over names, whatever kind of resource a name is, so a queue named `order` would be readable
//!   by every service allowed to bind from the exchange `order` (see [`crate::permissions`]);
//! - one retry queue per retry delay, `<queue>.retry.<ms>ms`: a failed message waits there for the
//!   queue's TTL, then the broker dead-letters it back into `<queue>` — the delay is held by the
//!   broker, not by a sleeping consumer; naming the queue after its delay means changing the
//!   delays declares new queues instead of conflicting with the old ones;
//! - `<queue>.dead`, where undecodable messages and exhausted retries wait for a human;
//! - the service's own retry path, a direct exchange `<queue>.retry` ([`retry_exchange`]) bound to
//!   each retry queue and to `<queue>.dead` by their names, and to `<queue>` by its name. The
//!   consumer parks copies through it and the retry queues dead-letter back through it, so a
//!   delivery that arrives from it came back from the runtime's own retry path (or from an
//!   operator's replay): only there are the headers that steer the runtime (`x-attempt`, the
//!   original routing key, exchange and sender) believed. Nothing depends on writing to the
//!   default exchange, through which any user allowed to write there reaches any queue by name.
//!
//! A deployment upgrading from a version whose retry queues dead-lettered through the default
//! exchange finds them declared with other arguments: let them drain, delete them, start again.
//!
//! The exchanges a service publishes on are its own and it declares them. Those it only binds
//! from are another service's: it checks that they exist (a passive declare, which needs no
//! permission) and declares one itself only when it is missing, which a least-privileged user
//! may not do: `shopctl broker provision` declares every exchange of the shop beforehand, and
//! until then (or until the producer has started) the bus retries with its reconnect backoff.
//!
//! Declaring is idempotent. A queue that exists with other arguments makes the broker close the
//! channel with PRECONDITION_FAILED; that becomes [`Error::TopologyConflict`] naming the queue and
//! the broker's description of the difference.

use std::time::Duration;

use lapin::{
    Channel, Connection, ExchangeKind,
    options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions},
    protocol::{AMQPErrorKind, AMQPSoftError},
    types::{AMQPValue, FieldTable, LongString},
};

use crate::{
    error::{Error, Result},
    settings::{QueueType, QuorumSettings},
};

/// A binding of the service's queue: `pattern` on `exchange`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub exchange: String,
    pub pattern: String,
}

/// Everything one service declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topology {
    /// Exchanges to declare (those it publishes to and those it binds from).
    pub exchanges: Vec<String>,
    /// The exchanges of the events it publishes: its own, declared by it. The others of
    /// [`Self::exchanges`] belong to their producers.
    pub own_exchanges: Vec<String>,
    /// The service's queue; `None` for a service that only publishes.
    pub queue: Option<String>,
    pub bindings: Vec<Binding>,
    /// The routing keys of the events the service publishes (`EventBus::publishes`).
    pub publications: Vec<String>,
    pub queue_type: QueueType,
    /// The arguments of quorum queues, when [`Self::queue_type`] is quorum.
    pub quorum: QuorumSettings,
    pub retry_delays: Vec<Duration>,
}

/// Declares `name` as the bus declares every exchange: a durable topic exchange.
pub async fn declare_exchange(channel: &Channel, name: &str) -> lapin::Result<()> {
    channel
        .exchange_declare(
            name.into(),
            ExchangeKind::Topic,
            ExchangeDeclareOptions {
                durable: true,
                ..ExchangeDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await
}

/// The queues that hold messages waiting on something (a retry delay, an operator): their depths
/// are exported as `bus_queue_depth{queue}`.
pub(crate) fn parked_queues(topology: &Topology) -> Vec<String> {
    let Some(queue) = &topology.queue else {
        return Vec::new();
    };
    topology
        .retry_delays
        .iter()
        .map(|delay| retry_queue(queue, *delay))
        .chain([dead_letter_queue(queue)])
        .collect()
}

/// Sets `bus_queue_depth{queue}` for each of `queues` from a passive declare on `channel`.
pub(crate) async fn report_depths(channel: &Channel, queues: &[String]) -> lapin::Result<()> {
    for queue in queues {
        let state = channel
            .queue_declare(
                queue.as_str().into(),
                QueueDeclareOptions {
                    passive: true,
                    ..QueueDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await?;
        metrics::gauge!("bus_queue_depth", "queue" => queue.clone())
            .set(f64::from(state.message_count()));
    }
    Ok(())
}

/// The queue of `service`: `<service>.queue`. The suffix keeps it apart from every exchange's
/// name (see the module docs).
pub fn service_queue(service: &str) -> String {
    format!("{service}.queue")
}

/// The exchange of `queue`'s own retry path: parked copies go through it, retried ones come back
/// through it (see the module docs).
pub fn retry_exchange(queue: &str) -> String {
    format!("{queue}.retry")
}

/// The name of the retry queue holding messages for `delay`.
pub fn retry_queue(queue: &str, delay: Duration) -> String {
    format!("{queue}.retry.{}ms", delay.as_millis())
}

/// The name of the dead-letter queue of `queue`.
pub fn dead_letter_queue(queue: &str) -> String {
    format!("{queue}.dead")
}

impl Topology {
    /// Declares everything on channels of `connection`: its own exchanges, its queues and their
    /// bindings, and, of another service's exchange it binds from, only what is missing (see the
    /// module docs).
    pub async fn declare(&self, connection: &Connection) -> Result<()> {
        let channel = declaring_channel(connection).await?;
        for exchange in &self.exchanges {
            if self.own_exchanges.contains(exchange) {
                continue;
            }
            let passive = ExchangeDeclareOptions {
                passive: true,
                ..ExchangeDeclareOptions::default()
            };
            let found = channel
                .exchange_declare(
                    exchange.as_str().into(),
                    ExchangeKind::Topic,
                    passive,
                    FieldTable::default(),
                )
                .await;
            if found.is_ok() {
                continue;
            }
            // A failed passive declare closes the channel: declare it on a fresh one.
            let missing = declaring_channel(connection).await?;
            declare_exchange(&missing, exchange)
                .await
                .map_err(|source| Error::MissingExchange {
                    name: exchange.clone(),
                    source,
                })?;
            let _ = missing.close(200, "declared".into()).await;
        }
        let channel = if channel.status().connected() {
            channel
        } else {
            declaring_channel(connection).await?
        };
        self.declare_own(&channel).await?;
        let _ = channel.close(200, "declared".into()).await;
        Ok(())
    }

    /// Declares the service's own exchanges, queues and bindings on `channel`. On a conflict the
    /// broker closes the channel, so use a channel dedicated to declaring.
    async fn declare_own(&self, channel: &Channel) -> Result<()> {
        for exchange in &self.own_exchanges {
            declare_exchange(channel, exchange)
                .await
                .map_err(|source| declare_error(exchange, source))?;
        }
        let Some(queue) = &self.queue else {
            return Ok(());
        };
        self.declare_queue(channel, queue, self.service_queue_arguments(queue))
            .await?;
        for binding in &self.bindings {
            channel
                .queue_bind(
                    queue.as_str().into(),
                    binding.exchange.as_str().into(),
                    binding.pattern.as_str().into(),
                    QueueBindOptions::default(),
                    FieldTable::default(),
                )
                .await
                .map_err(|source| declare_error(queue, source))?;
        }
        for delay in &self.retry_delays {
            let mut arguments = FieldTable::default();
            arguments.insert(
                "x-message-ttl".into(),
                AMQPValue::LongLongInt(delay.as_millis() as i64),
            );
            arguments.insert(
                "x-dead-letter-exchange".into(),
                string(&retry_exchange(queue)),
            );
            arguments.insert("x-dead-letter-routing-key".into(), string(queue));
            if self.queue_type == QueueType::Quorum {
                // A quorum queue dead-letters at most once by default: a copy lost on the way
                // back from its retry queue would be lost for good. At least once needs the
                // queue to refuse publishes when full rather than drop its head.
                arguments.insert("x-dead-letter-strategy".into(), string("at-least-once"));
                arguments.insert("x-overflow".into(), string("reject-publish"));
            }
            self.declare_queue(channel, &retry_queue(queue, *delay), arguments)
                .await?;
        }
        self.declare_queue(channel, &dead_letter_queue(queue), FieldTable::default())
            .await?;
        self.declare_retry_path(channel, queue).await
    }

    /// The exchange `<queue>.retry`, each parking queue and `<queue>` bound to it by name.
    async fn declare_retry_path(&self, channel: &Channel, queue: &str) -> Result<()> {
        let exchange = retry_exchange(queue);
        channel
            .exchange_declare(
                exchange.as_str().into(),
                ExchangeKind::Direct,
                ExchangeDeclareOptions {
                    durable: true,
                    ..ExchangeDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await
            .map_err(|source| declare_error(&exchange, source))?;
        let targets = parked_queues(self).into_iter().chain([queue.to_owned()]);
        for target in targets {
            channel
                .queue_bind(
                    target.as_str().into(),
                    exchange.as_str().into(),
                    target.as_str().into(),
                    QueueBindOptions::default(),
                    FieldTable::default(),
                )
                .await
                .map_err(|source| declare_error(&target, source))?;
        }
        Ok(())
    }

    /// The service queue's own arguments: with a quorum delivery limit, the broker dead-letters
    /// a message delivered that often without an outcome into `<queue>.dead`, through the
    /// service's retry path, at least once (which needs publishes refused, not the head dropped,
    /// when the queue is full). The message keeps its properties (its `type` names its routing
    /// key) and the broker's `x-death` says why, so shopctl lists and replays it like any other.
    fn service_queue_arguments(&self, queue: &str) -> FieldTable {
        let mut arguments = FieldTable::default();
        if self.queue_type == QueueType::Quorum && self.quorum.delivery_limit > 0 {
            arguments.insert(
                "x-delivery-limit".into(),
                AMQPValue::LongLongInt(i64::from(self.quorum.delivery_limit)),
            );
            arguments.insert(
                "x-dead-letter-exchange".into(),
                string(&retry_exchange(queue)),
            );
            arguments.insert(
                "x-dead-letter-routing-key".into(),
                string(&dead_letter_queue(queue)),
            );
            arguments.insert("x-dead-letter-strategy".into(), string("at-least-once"));
            arguments.insert("x-overflow".into(), string("reject-publish"));
        }
        arguments
    }

    async fn declare_queue(
        &self,
        channel: &Channel,
        name: &str,
        mut arguments: FieldTable,
    ) -> Result<()> {
        arguments.insert("x-queue-type".into(), string(self.queue_type.as_str()));
        if self.queue_type == QueueType::Quorum && self.quorum.initial_group_size > 0 {
            arguments.insert(
                "x-quorum-initial-group-size".into(),
                AMQPValue::LongLongInt(i64::from(self.quorum.initial_group_size)),
            );
        }
        channel
            .queue_declare(name.into(), QueueDeclareOptions::durable(), arguments)
            .await
            .map(drop)
            .map_err(|source| declare_error(name, source))
    }
}

async fn declaring_channel(connection: &Connection) -> Result<Channel> {
    connection
        .create_channel()
        .await
        .map_err(Error::broker("opening the declaring channel"))
}

fn string(value: &str) -> AMQPValue {
    AMQPValue::LongString(LongString::from(value.as_bytes().to_vec()))
}

/// Names the queue or exchange in the error, and singles out argument conflicts.
fn declare_error(name: &str, source: lapin::Error) -> Error {
    if let lapin::ErrorKind::ProtocolError(amqp) = source.kind()
        && matches!(
            amqp.kind(),
            AMQPErrorKind::Soft(AMQPSoftError::PRECONDITIONFAILED)
        )
    {
        return Error::TopologyConflict {
            name: name.to_owned(),
            detail: amqp.get_message().to_string(),
        };
    }
    Error::Declare {
        name: name.to_owned(),
        source,
    }
}
