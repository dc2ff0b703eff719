//! The consuming side: from a delivery to an ack.
//!
//! For each delivery: find the event it is (its routing key, or for a retried message the key it
//! first arrived with), decode it into the newest type, begin a transaction, record the message id
//! in the inbox, run the handler, commit, and only then ack. What cannot be decoded goes to
//! `<queue>.dead` at once with the reason; a failing handler's message goes to the retry queue of
//! its attempt, and after the last one to `<queue>.dead` with the error and the attempt count. Every
//! path ends in an ack of the original, after the copy was confirmed by the broker: a poison message
//! never blocks the queue, and nothing is lost on the way.

use std::{
    collections::HashMap,
    pin::Pin,
    sync::Arc,
    time::{Duration, Instant},
};

use futures_util::StreamExt;
use lapin::{
    BasicProperties, Channel,
    message::Delivery,
    options::{
        BasicAckOptions, BasicCancelOptions, BasicConsumeOptions, BasicNackOptions, BasicQosOptions,
    },
    types::{AMQPValue, FieldTable},
};
use sqlx::PgPool;
use tokio::sync::Semaphore;
use tokio_util::{sync::CancellationToken, task::TaskTracker};
use tracing::{Instrument, field};

use crate::{
    error::{DecodeError, Error, HandlerError},
    event::{Event, RoutingKey, binding_pattern, decode_json},
    handler::{Handler, HandlerContext},
    inbox,
    message::{self, Metadata},
    outbox::RelayWake,
    publisher::Publisher,
    topology::{Binding, dead_letter_queue, retry_queue},
    trace_context::{TRACEPARENT, TraceContext},
};

type BoxFuture<'a, T> = Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// How handling one message ended.
#[derive(Debug)]
pub(crate) enum Outcome {
    Handled,
    Duplicate,
    Undecodable(DecodeError),
    Failed(HandlerError),
}

/// One event family's decoder and handler, with its type erased so routes can share a table.
pub(crate) trait Route: Send + Sync {
    fn binding(&self) -> Binding;
    fn process<'a>(&'a self, target: Target<'a>, payload: &'a [u8]) -> BoxFuture<'a, Outcome>;
}

/// Where a message is applied: the consumer's database and inbox name, the message's metadata,
/// and the relay to wake when the handler staged events.
pub(crate) struct Target<'a> {
    pub(crate) pool: &'a PgPool,
    pub(crate) consumer: &'a str,
    pub(crate) metadata: &'a Metadata,
    pub(crate) relay_wake: &'a RelayWake,
}

/// How a route turns the bytes of a delivery into what its handler takes.
pub(crate) type Decoder<T> = fn(&Metadata, &[u8]) -> Result<T, DecodeError>;

/// A decoder and a handler for what it decodes, bound to one pattern of one exchange.
pub(crate) struct HandlerRoute<T, H> {
    binding: Binding,
    decode: Decoder<T>,
    handler: H,
}

impl<T: Send + 'static, H: Handler<T>> HandlerRoute<T, H> {
    pub(crate) fn new(binding: Binding, decode: Decoder<T>, handler: H) -> Self {
        Self {
            binding,
            decode,
            handler,
        }
    }

    async fn run(&self, target: Target<'_>, payload: &[u8]) -> Outcome {
        let event = match (self.decode)(target.metadata, payload) {
            Ok(event) => event,
            Err(reason) => return Outcome::Undecodable(reason),
        };
        match self.apply(target, event).await {
            Ok(true) => Outcome::Handled,
            Ok(false) => Outcome::Duplicate,
            Err(error) => Outcome::Failed(error),
        }
    }

    /// Inbox record, handler and commit in one transaction; `false` for a duplicate.
    async fn apply(&self, target: Target<'_>, event: T) -> Result<bool, HandlerError> {
        let Target {
            pool,
            consumer,
            metadata,
            relay_wake,
        } = target;
        let mut tx = pool
            .begin()
            .await
            .map_err(Error::db("beginning the handler transaction"))?;
        if !inbox::record(
            &mut tx,
            consumer,
            &metadata.message_id,
            &metadata.routing_key,
        )
        .await?
        {
            return Ok(false);
        }
        let mut context = HandlerContext::new(&mut tx, metadata);
        self.handler.handle(&mut context, event).await?;
        let staged = context.staged();
        tx.commit()
            .await
            .map_err(Error::db("committing the handler transaction"))?;
        if staged {
            relay_wake.wake();
        }
        Ok(true)
    }
}

impl<T: Send + 'static, H: Handler<T>> Route for HandlerRoute<T, H> {
    fn binding(&self) -> Binding {
        self.binding.clone()
    }

    fn process<'a>(&'a self, target: Target<'a>, payload: &'a [u8]) -> BoxFuture<'a, Outcome> {
        Box::pin(self.run(target, payload))
    }
}

/// The route of every version of `E`, bound with `<exchange>.*.<name>`.
pub(crate) fn typed_route<E: Event, H: Handler<E>>(handler: H) -> HandlerRoute<E, H> {
    let binding = Binding {
        exchange: E::EXCHANGE.to_owned(),
        pattern: binding_pattern::<E>(),
    };
    HandlerRoute::new(
        binding,
        |metadata, payload| E::decode(metadata.version, payload),
        handler,
    )
}

/// The route of everything published on `exchange`, bound with `#`, decoded as any JSON.
pub(crate) fn observer_route<H: Handler<AnyEvent>>(
    exchange: &str,
    handler: H,
) -> HandlerRoute<AnyEvent, H> {
    let binding = Binding {
        exchange: exchange.to_owned(),
        pattern: "#".to_owned(),
    };
    HandlerRoute::new(
        binding,
        |_, payload| decode_json(payload).map(|payload| AnyEvent { payload }),
        handler,
    )
}

/// Any event, for observers that record what flows rather than interpret it (an audit log, a flow
/// tracker). Its routing key, ids and producer are in the [`HandlerContext::metadata`].
#[derive(Debug, Clone, PartialEq)]
pub struct AnyEvent {
    pub payload: serde_json::Value,
}

/// The key under which an exchange's observer is filed: no event name contains `#`.
pub(crate) const OBSERVER: &str = "#";

/// The routes of one queue, by `(exchange, event name)`.
pub(crate) type Routes = HashMap<(String, String), Arc<dyn Route>>;

/// What every delivery of one queue needs, shared by its in-flight tasks.
pub(crate) struct QueueRuntime {
    pub(crate) queue: String,
    pub(crate) routes: Routes,
    pub(crate) pool: PgPool,
    pub(crate) publisher: Publisher,
    /// Woken after a handler's commit that staged events.
    pub(crate) relay_wake: RelayWake,
    pub(crate) retry_delays: Vec<Duration>,
    pub(crate) prefetch: u16,
    pub(crate) concurrency: usize,
}

/// Why a consume loop returned.
pub(crate) enum ConsumeEnd {
    /// Shutdown was asked; in-flight work has been acked.
    Drained,
    /// The channel or connection failed; unacked messages go back to the queue by themselves.
    Lost(String),
}

impl QueueRuntime {
    /// Consumes on `channel` until `shutdown` or until the link fails.
    pub(crate) async fn consume(
        self: &Arc<Self>,
        channel: Channel,
        shutdown: &CancellationToken,
    ) -> Result<ConsumeEnd, Error> {
        channel
            .basic_qos(self.prefetch, BasicQosOptions { global: false })
            .await
            .map_err(Error::broker("setting the prefetch"))?;
        let mut consumer = channel
            .basic_consume(
                self.queue.as_str().into(),
                "".into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(Error::broker("starting to consume"))?;
        let slots = Arc::new(Semaphore::new(self.concurrency.max(1)));
        let in_flight = TaskTracker::new();
        let end = loop {
            let slot = tokio::select! {
                biased;
                _ = shutdown.cancelled() => break ConsumeEnd::Drained,
                slot = slots.clone().acquire_owned() => slot,
            };
            let Ok(slot) = slot else {
                break ConsumeEnd::Drained;
            };
            let delivery = tokio::select! {
                biased;
                _ = shutdown.cancelled() => break ConsumeEnd::Drained,
                delivery = consumer.next() => delivery,
            };
            match delivery {
                Some(Ok(delivery)) => {
                    let runtime = Arc::clone(self);
                    in_flight.spawn(async move {
                        runtime.handle(delivery).await;
                        drop(slot);
                    });
                }
                Some(Err(error)) => break ConsumeEnd::Lost(error.to_string()),
                None => break ConsumeEnd::Lost("the broker cancelled the consumer".into()),
            }
        };
        if matches!(end, ConsumeEnd::Drained) {
            // Stop the flow, then hand back what was prefetched but not started.
            let _ = channel
                .basic_cancel(consumer.tag(), BasicCancelOptions::default())
                .await;
            while let Ok(Some(Ok(delivery))) =
                tokio::time::timeout(Duration::from_millis(200), consumer.next()).await
            {
                let _ = delivery
                    .nack(BasicNackOptions {
                        requeue: true,
                        ..BasicNackOptions::default()
                    })
                    .await;
            }
        }
        in_flight.close();
        in_flight.wait().await;
        if matches!(end, ConsumeEnd::Drained) {
            let _ = channel.close(200, "drained".into()).await;
        }
        Ok(end)
    }

    /// Handles one delivery to its end: ack, retry or dead letter.
    async fn handle(&self, delivery: Delivery) {
        let headers = delivery.properties.headers().as_ref();
        let routing_key = arrival_key(&delivery);
        let attempt = message::header_u32(headers, message::ATTEMPT)
            .unwrap_or(1)
            .max(1);
        let trace = message::header_str(headers, TRACEPARENT)
            .and_then(|header| TraceContext::parse(&header))
            .map(|parent| parent.child())
            .unwrap_or_else(TraceContext::root);
        let span = tracing::info_span!(
            "handle",
            queue = %self.queue,
            event = %routing_key,
            trace_id = %trace.trace_id(),
            message_id = field::Empty,
            correlation_id = field::Empty,
            causation_id = field::Empty,
            attempt,
            outcome = field::Empty,
        );
        let outcome = async {
            let metadata = match self.metadata(&delivery, &routing_key, attempt, trace) {
                Ok(metadata) => metadata,
                Err(reason) => return Outcome::Undecodable(reason),
            };
            let span = tracing::Span::current();
            span.record("message_id", metadata.message_id.as_str());
            if let Some(id) = &metadata.correlation_id {
                span.record("correlation_id", id.as_str());
            }
            if let Some(id) = &metadata.causation_id {
                span.record("causation_id", id.as_str());
            }
            let route = match self.route(&routing_key) {
                Ok(route) => route,
                Err(reason) => return Outcome::Undecodable(reason),
            };
            let started = Instant::now();
            let target = Target {
                pool: &self.pool,
                consumer: &self.queue,
                metadata: &metadata,
                relay_wake: &self.relay_wake,
            };
            let outcome = route.process(target, &delivery.data).await;
            metrics::histogram!(
                "bus_handler_duration_seconds",
                "queue" => self.queue.clone(),
                "event" => routing_key.clone(),
            )
            .record(started.elapsed().as_secs_f64());
            outcome
        }
        .instrument(span.clone());
        let outcome = trace.scope(outcome).await;
        self.settle(delivery, &routing_key, attempt, outcome)
            .instrument(span)
            .await;
    }

    fn route(&self, routing_key: &str) -> Result<&Arc<dyn Route>, DecodeError> {
        let key = RoutingKey::parse(routing_key)?;
        self.routes
            .get(&(key.exchange.to_owned(), key.name.to_owned()))
            .or_else(|| {
                self.routes
                    .get(&(key.exchange.to_owned(), OBSERVER.to_owned()))
            })
            .ok_or_else(|| DecodeError::NoHandler(routing_key.to_owned()))
    }

    fn metadata(
        &self,
        delivery: &Delivery,
        routing_key: &str,
        attempt: u32,
        trace: TraceContext,
    ) -> Result<Metadata, DecodeError> {
        let properties = &delivery.properties;
        let headers = properties.headers().as_ref();
        let version = RoutingKey::parse(routing_key)?.version;
        let message_id = properties
            .message_id()
            .as_ref()
            .map(|id| id.to_string())
            .filter(|id| !id.is_empty())
            .ok_or(DecodeError::MissingMessageId)?;
        Ok(Metadata {
            message_id,
            routing_key: routing_key.to_owned(),
            version,
            correlation_id: properties
                .correlation_id()
                .as_ref()
                .map(|id| id.to_string()),
            causation_id: message::header_str(headers, message::CAUSATION_ID),
            producer: properties.app_id().as_ref().map(|id| id.to_string()),
            timestamp: properties
                .timestamp()
                .and_then(|seconds| chrono::DateTime::from_timestamp(seconds as i64, 0)),
            attempt,
            trace,
        })
    }

    /// Acks, or parks a copy in a retry or dead-letter queue and then acks.
    async fn settle(&self, delivery: Delivery, routing_key: &str, attempt: u32, outcome: Outcome) {
        let parked = match &outcome {
            Outcome::Handled | Outcome::Duplicate => Ok(()),
            Outcome::Undecodable(reason) => {
                tracing::warn!(outcome = "dead_lettered", %reason, "undecodable message");
                self.park(
                    &delivery,
                    routing_key,
                    &dead_letter_queue(&self.queue),
                    &[
                        (message::ERROR, message::long_string(&reason.to_string())),
                        (message::DEAD_LETTER_KIND, message::long_string("decode")),
                        (message::ATTEMPT, AMQPValue::LongLongInt(i64::from(attempt))),
                    ],
                )
                .await
            }
            Outcome::Failed(error) => {
                let error_text = message::long_string(&error.to_string());
                match self.retry_delays.get(attempt as usize - 1) {
                    Some(delay) => {
                        tracing::warn!(outcome = "retried", %error, delay_ms = delay.as_millis() as u64, "handler failed");
                        self.park(
                            &delivery,
                            routing_key,
                            &retry_queue(&self.queue, *delay),
                            &[
                                (message::ERROR, error_text),
                                (
                                    message::ATTEMPT,
                                    AMQPValue::LongLongInt(i64::from(attempt) + 1),
                                ),
                            ],
                        )
                        .await
                    }
                    None => {
                        tracing::error!(outcome = "dead_lettered", %error, attempts = attempt, "handler failed on its last attempt");
                        self.park(
                            &delivery,
                            routing_key,
                            &dead_letter_queue(&self.queue),
                            &[
                                (message::ERROR, error_text),
                                (message::DEAD_LETTER_KIND, message::long_string("handler")),
                                (message::ATTEMPT, AMQPValue::LongLongInt(i64::from(attempt))),
                            ],
                        )
                        .await
                    }
                }
            }
        };
        match (&outcome, parked) {
            (Outcome::Handled, Ok(())) => tracing::info!(outcome = "handled", "event handled"),
            (Outcome::Duplicate, Ok(())) => tracing::info!(
                outcome = "duplicate",
                "already handled; acked without effect"
            ),
            (_, Ok(())) => {}
            (_, Err(error)) => {
                // The copy did not reach the broker: give the original back rather than lose it.
                tracing::error!(%error, "could not park the message; requeueing it");
                let _ = delivery
                    .nack(BasicNackOptions {
                        requeue: true,
                        ..BasicNackOptions::default()
                    })
                    .await;
                return;
            }
        }
        self.count(routing_key, attempt, &outcome);
        if let Err(error) = delivery.ack(BasicAckOptions::default()).await {
            // The link is gone: the broker redelivers it, and the inbox absorbs the repeat.
            tracing::warn!(%error, "ack failed; the message will be redelivered");
        }
    }

    /// Counts how a message ended, by queue and routing key (`unknown` for a key no handler
    /// knows, so that poison cannot grow the label set without bound).
    fn count(&self, routing_key: &str, attempt: u32, outcome: &Outcome) {
        let unknown = matches!(
            outcome,
            Outcome::Undecodable(
                DecodeError::InvalidRoutingKey(_)
                    | DecodeError::NoHandler(_)
                    | DecodeError::MissingMessageId
            )
        );
        let event = if unknown {
            "unknown".to_owned()
        } else {
            routing_key.to_owned()
        };
        let queue = self.queue.clone();
        match outcome {
            Outcome::Handled | Outcome::Duplicate => {
                let result = if matches!(outcome, Outcome::Handled) {
                    "handled"
                } else {
                    "duplicate"
                };
                metrics::counter!("bus_messages_handled_total", "queue" => queue, "event" => event, "outcome" => result)
                    .increment(1);
            }
            Outcome::Failed(_) if (attempt as usize) <= self.retry_delays.len() => {
                metrics::counter!("bus_messages_retried_total", "queue" => queue, "event" => event)
                    .increment(1);
            }
            Outcome::Failed(_) | Outcome::Undecodable(_) => {
                let kind = if matches!(outcome, Outcome::Failed(_)) {
                    "handler"
                } else {
                    "decode"
                };
                metrics::counter!("bus_messages_dead_lettered_total", "queue" => queue, "event" => event, "kind" => kind)
                    .increment(1);
            }
        }
    }

    /// Copies the delivery into `queue` with extra headers, keeping its identity and payload.
    async fn park(
        &self,
        delivery: &Delivery,
        routing_key: &str,
        queue: &str,
        extra: &[(&str, AMQPValue)],
    ) -> Result<(), Error> {
        let mut headers = delivery.properties.headers().clone().unwrap_or_default();
        let original_known =
            message::header_str(Some(&headers), message::ORIGINAL_ROUTING_KEY).is_some();
        if !original_known {
            headers.insert(
                message::ORIGINAL_ROUTING_KEY.into(),
                message::long_string(routing_key),
            );
            headers.insert(
                message::ORIGINAL_EXCHANGE.into(),
                message::long_string(delivery.exchange.as_str()),
            );
        }
        for (key, value) in extra {
            headers.insert((*key).into(), value.clone());
        }
        let properties: BasicProperties = delivery
            .properties
            .clone()
            .with_headers(headers)
            .with_delivery_mode(2);
        self.publisher
            .forward(queue, &delivery.data, properties)
            .await
    }
}

/// The routing key a message first arrived with: its own when it came from a topic exchange, the
/// recorded one when it came back from a retry queue through the default exchange.
fn arrival_key(delivery: &Delivery) -> String {
    if !delivery.exchange.as_str().is_empty() {
        return delivery.routing_key.to_string();
    }
    let headers = delivery.properties.headers().as_ref();
    message::header_str(headers, message::ORIGINAL_ROUTING_KEY)
        .or_else(|| {
            delivery
                .properties
                .kind()
                .as_ref()
                .map(|kind| kind.to_string())
        })
        .unwrap_or_else(|| delivery.routing_key.to_string())
}
