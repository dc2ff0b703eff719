//! The consuming side: from a delivery to an ack.
//!
//! For each delivery: find the event it is (its routing key, or for a retried message the key it
//! first arrived with), decode it into the newest type, begin a transaction, record the message id
//! in the inbox, run the handler, commit, and only then ack.
//!
//! Deliveries that are already waiting when a worker is free may share one transaction, up to
//! `batch_size`: one inbox statement, the handlers one after the other, one outbox statement and
//! one commit for all of them, which is what a delivery mostly costs (round trips to PostgreSQL
//! and a WAL flush). Each handler of a batch runs after a savepoint: when one fails, its own
//! writes, staged events and inbox row are rolled back and its message is retried as if alone,
//! while the others commit, so no handler runs twice because another failed. A consumer whose
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

use std::{
    any::Any,
    collections::HashMap,
    panic::AssertUnwindSafe,
    pin::Pin,
    sync::Arc,
    time::{Duration, Instant},
};

use futures_util::{FutureExt, StreamExt};
use lapin::{
    BasicProperties, Channel, Consumer,
    message::Delivery,
    options::{
        BasicAckOptions, BasicCancelOptions, BasicConsumeOptions, BasicNackOptions, BasicQosOptions,
    },
    types::{AMQPValue, FieldTable},
};
use sqlx::{Connection, PgConnection, PgPool, Postgres, pool::PoolConnection};
use tokio::{sync::Mutex, task::JoinSet};
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, Span, field};

use crate::{
    error::{DecodeError, Error, HandlerError},
    event::{Event, RoutingKey, binding_pattern, decode_json},
    handler::{Handler, HandlerContext},
    inbox,
    message::{self, Metadata, OutgoingMessage},
    outbox::{self, RelayWake},
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

/// How a handler took one message, inside a transaction its caller owns.
pub(crate) enum Applied {
    Done,
    Undecodable(DecodeError),
    Failed(HandlerError),
}

/// One event family's decoder and handler, with its type erased so routes can share a table.
pub(crate) trait Route: Send + Sync {
    fn binding(&self) -> Binding;
    fn apply<'a>(&'a self, step: Step<'a>) -> BoxFuture<'a, Applied>;
}

/// One message to apply in an open transaction, and where to put what its handler publishes.
pub(crate) struct Step<'a> {
    pub(crate) connection: &'a mut PgConnection,
    pub(crate) metadata: &'a Metadata,
    pub(crate) payload: &'a [u8],
    pub(crate) staged: &'a mut Vec<OutgoingMessage>,
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

    async fn run(&self, step: Step<'_>) -> Applied {
        let event = match (self.decode)(step.metadata, step.payload) {
            Ok(event) => event,
            Err(reason) => return Applied::Undecodable(reason),
        };
        let mut context = HandlerContext::new(step.connection, step.metadata, step.staged);
        // A panicking handler is a failing one: its message is retried, then dead-lettered,
        // and the worker lives on to handle the next.
        match AssertUnwindSafe(self.handler.handle(&mut context, event))
            .catch_unwind()
            .await
        {
            Ok(Ok(())) => Applied::Done,
            Ok(Err(error)) => Applied::Failed(error),
            Err(panic) => Applied::Failed(HandlerError(anyhow::anyhow!(
                "the handler panicked: {}",
                panic_message(panic.as_ref())
            ))),
        }
    }
}

impl<T: Send + 'static, H: Handler<T>> Route for HandlerRoute<T, H> {
    fn binding(&self) -> Binding {
        self.binding.clone()
    }

    fn apply<'a>(&'a self, step: Step<'a>) -> BoxFuture<'a, Applied> {
        Box::pin(self.run(step))
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

/// What every delivery of one queue needs, shared by its workers.
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
    pub(crate) batch_size: usize,
    pub(crate) savepoint_per_handler: bool,
}

/// Why a consume loop returned.
pub(crate) enum ConsumeEnd {
    /// Shutdown was asked; in-flight work has been acked.
    Drained,
    /// The channel or connection failed; unacked messages go back to the queue by themselves.
    Lost(String),
}

/// A delivery as read off the wire: the key it arrived with, its attempt, and the span and trace
/// its handling runs in.
struct Received {
    delivery: Delivery,
    routing_key: String,
    attempt: u32,
    span: Span,
    trace: TraceContext,
}

/// A delivery's complete metadata and the route that takes its key, or why it cannot be handled.
type Routed = Result<(Metadata, Arc<dyn Route>), DecodeError>;

/// A delivery that can be handled: its metadata is complete and a route takes its key.
struct Ready {
    received: Received,
    metadata: Metadata,
    route: Arc<dyn Route>,
}

/// A connection a worker keeps between transactions while deliveries keep coming.
type HeldConnection = Option<PoolConnection<Postgres>>;

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
        let consumer = channel
            .basic_consume(
                self.queue.as_str().into(),
                "".into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(Error::broker("starting to consume"))?;
        let tag = consumer.tag();
        let source = Arc::new(Mutex::new(consumer));
        // Cancelled by the first worker that sees the link fail, so the others stop taking more.
        let link_lost = shutdown.child_token();
        let mut workers = JoinSet::new();
        for _ in 0..self.concurrency.max(1) {
            let runtime = Arc::clone(self);
            let source = Arc::clone(&source);
            let link_lost = link_lost.clone();
            workers.spawn(async move { runtime.work(&source, &link_lost).await });
        }
        let mut end = ConsumeEnd::Drained;
        while let Some(worker) = workers.join_next().await {
            let lost = match worker {
                Ok(None) => continue,
                Ok(Some(reason)) => reason,
                // A bug of the runtime itself (handlers' panics are caught): let the supervisor
                // start over on a new channel, which gives the unacked deliveries back.
                Err(error) => {
                    link_lost.cancel();
                    format!("a consumer worker failed: {error}")
                }
            };
            end = ConsumeEnd::Lost(lost);
        }
        if matches!(end, ConsumeEnd::Drained) {
            // Stop the flow, then hand back what was prefetched but not started.
            let _ = channel
                .basic_cancel(tag.as_str().into(), BasicCancelOptions::default())
                .await;
            let mut consumer = source.lock().await;
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
            let _ = channel.close(200, "drained".into()).await;
        }
        Ok(end)
    }

    /// One worker: takes what is waiting (up to `batch_size`), handles it to its end, and again,
    /// until `stop` (shutdown, or a rival worker saw the link fail). Returns why the link failed,
    /// if it did.
    async fn work(&self, source: &Mutex<Consumer>, stop: &CancellationToken) -> Option<String> {
        let mut held: HeldConnection = None;
        loop {
            match self.next_batch(source, &mut held, stop).await {
                Ok(Some(batch)) => self.handle_batch(&mut held, batch).await,
                Ok(None) => return None,
                Err(reason) => {
                    stop.cancel();
                    return Some(reason);
                }
            }
        }
    }

    /// Waits for a delivery, then takes the ones already prefetched behind it. Whenever it has to
    /// wait, the worker's connection goes back to the pool first: an idle queue holds none.
    async fn next_batch(
        &self,
        source: &Mutex<Consumer>,
        held: &mut HeldConnection,
        stop: &CancellationToken,
    ) -> Result<Option<Vec<Delivery>>, String> {
        let mut consumer = match source.try_lock() {
            Ok(consumer) => consumer,
            Err(_) => {
                // Another worker reads the queue, maybe for long: waiting with a connection
                // could starve the workers that have deliveries and need one.
                held.take();
                tokio::select! {
                    biased;
                    _ = stop.cancelled() => return Ok(None),
                    consumer = source.lock() => consumer,
                }
            }
        };
        if stop.is_cancelled() {
            return Ok(None);
        }
        let first = match consumer.next().now_or_never() {
            Some(next) => next,
            None => {
                held.take();
                tokio::select! {
                    biased;
                    _ = stop.cancelled() => return Ok(None),
                    next = consumer.next() => next,
                }
            }
        };
        let mut batch = vec![arrived(first)?];
        while batch.len() < self.batch_size.max(1) {
            match consumer.next().now_or_never() {
                Some(next) => batch.push(arrived(next)?),
                None => break,
            }
        }
        Ok(Some(batch))
    }

    /// Handles deliveries to their end (ack, retry or dead letter): together in one transaction
    /// when there are several, each alone if that fails.
    async fn handle_batch(&self, held: &mut HeldConnection, batch: Vec<Delivery>) {
        let mut ready = Vec::with_capacity(batch.len());
        for delivery in batch {
            let (received, target) = self.receive(delivery);
            match target {
                Ok((metadata, route)) => ready.push(Ready {
                    received,
                    metadata,
                    route,
                }),
                Err(reason) => self.finish(received, Outcome::Undecodable(reason)).await,
            }
        }
        if ready.len() > 1 {
            match self.apply_together(held, &ready).await {
                Ok(outcomes) => {
                    for (item, outcome) in ready.into_iter().zip(outcomes) {
                        self.finish(item.received, outcome).await;
                    }
                    return;
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
        for item in ready {
            let outcome = match self.apply_together(held, std::slice::from_ref(&item)).await {
                Ok(mut outcomes) => outcomes.pop().unwrap_or(Outcome::Handled),
                Err(outcome) => outcome,
            };
            self.finish(item.received, outcome).await;
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
                    .map_err(|error| db_failure("acquiring a connection", error))?,
            ),
        };
        let mut tx = connection
            .begin()
            .await
            .map_err(|error| db_failure("beginning the handler transaction", error))?;
        let keys: Vec<(&str, &str)> = items
            .iter()
            .map(|item| {
                (
                    item.metadata.message_id.as_str(),
                    item.metadata.routing_key.as_str(),
                )
            })
            .collect();
        let mut new = inbox::record_all(&mut tx, &self.queue, &keys)
            .await
            .map_err(|error| Outcome::Failed(error.into()))?;
        // Without savepoints, a failure rolls the whole transaction back.
        let savepoints = self.savepoint_per_handler && items.len() > 1;
        let mut staged = Vec::new();
        let mut outcomes = Vec::with_capacity(items.len());
        for item in items {
            // `remove`: a message id that comes twice in one batch is applied once.
            if !new.remove(&item.metadata.message_id) {
                outcomes.push(Outcome::Duplicate);
                continue;
            }
            if savepoints {
                savepoint(&mut tx, "SAVEPOINT handler").await?;
            }
            let staged_before = staged.len();
            let started = Instant::now();
            let step = Step {
                connection: &mut tx,
                metadata: &item.metadata,
                payload: &item.received.delivery.data,
                staged: &mut staged,
            };
            let applied = item
                .received
                .trace
                .scope(item.route.apply(step))
                .instrument(item.received.span.clone())
                .await;
            metrics::histogram!(
                "bus_handler_duration_seconds",
                "queue" => self.queue.clone(),
                "event" => item.received.routing_key.clone(),
            )
            .record(started.elapsed().as_secs_f64());
            let failed = match applied {
                Applied::Done => {
                    outcomes.push(Outcome::Handled);
                    continue;
                }
                Applied::Undecodable(reason) => Outcome::Undecodable(reason),
                Applied::Failed(error) => Outcome::Failed(error),
            };
            if !savepoints {
                return Err(failed);
            }
            savepoint(&mut tx, "ROLLBACK TO SAVEPOINT handler").await?;
            staged.truncate(staged_before);
            inbox::forget(&mut tx, &self.queue, &item.metadata.message_id)
                .await
                .map_err(|error| Outcome::Failed(error.into()))?;
            outcomes.push(failed);
        }
        outbox::insert_all(&mut tx, &staged)
            .await
            .map_err(|error| Outcome::Failed(error.into()))?;
        tx.commit()
            .await
            .map_err(|error| db_failure("committing the handler transaction", error))?;
        if !staged.is_empty() {
            self.relay_wake.wake();
        }
        Ok(outcomes)
    }

    /// Reads what a delivery says about itself, and opens the span its handling runs in; with
    /// its metadata and route, or why it cannot be handled.
    fn receive(&self, delivery: Delivery) -> (Received, Routed) {
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
        let target = self
            .metadata(&delivery, &routing_key, attempt, trace)
            .and_then(|metadata| {
                span.record("message_id", metadata.message_id.as_str());
                if let Some(id) = &metadata.correlation_id {
                    span.record("correlation_id", id.as_str());
                }
                if let Some(id) = &metadata.causation_id {
                    span.record("causation_id", id.as_str());
                }
                let route = Arc::clone(self.route(&routing_key)?);
                Ok((metadata, route))
            });
        let received = Received {
            delivery,
            routing_key,
            attempt,
            span,
            trace,
        };
        (received, target)
    }

    /// Settles a delivery in its own span.
    async fn finish(&self, received: Received, outcome: Outcome) {
        let Received {
            delivery,
            routing_key,
            attempt,
            span,
            ..
        } = received;
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

/// What a panic said, when it said it with a string.
fn panic_message(panic: &(dyn Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("no message")
}

/// A delivery off the consumer stream, or why the stream ended.
fn arrived(next: Option<Result<Delivery, lapin::Error>>) -> Result<Delivery, String> {
    match next {
        Some(Ok(delivery)) => Ok(delivery),
        Some(Err(error)) => Err(error.to_string()),
        None => Err("the broker cancelled the consumer".into()),
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

/// A database failure around the handler, retried like a handler's own.
fn db_failure(context: &'static str, error: sqlx::Error) -> Outcome {
    Outcome::Failed(Error::db(context)(error).into())
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
