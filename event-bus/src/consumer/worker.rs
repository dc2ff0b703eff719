//! The consume loop: `concurrency` workers share one consumer; each takes what waits (up to
//! `batch_size`), handles it to its end, and again, until shutdown or a lost link.

use std::{sync::Arc, time::Duration};

use futures_util::{FutureExt, StreamExt};
use lapin::{
    Channel, Consumer,
    message::Delivery,
    options::{BasicCancelOptions, BasicConsumeOptions, BasicNackOptions, BasicQosOptions},
    types::FieldTable,
};
use sqlx::PgPool;
use tokio::{sync::Mutex, task::JoinSet};
use tokio_util::sync::CancellationToken;

use crate::{
    consumer::{route::Routes, transaction::HeldConnection},
    error::Error,
    layer::Layers,
    outbox::RelayWake,
    publisher::Publisher,
};

/// What every delivery of one queue needs, shared by its workers.
pub(crate) struct QueueRuntime {
    pub(crate) queue: String,
    pub(crate) routes: Routes,
    /// What goes around every handler call.
    pub(crate) layers: Layers,
    /// A larger body is dead-lettered before it is decoded.
    pub(crate) max_message_bytes: usize,
    /// Who is believed as the publisher of each exchange.
    pub(crate) senders: crate::senders::SenderSettings,
    pub(crate) pool: PgPool,
    pub(crate) publisher: Publisher,
    /// Woken after a handler's commit that staged events.
    pub(crate) relay_wake: RelayWake,
    pub(crate) retry_delays: Vec<Duration>,
    pub(crate) prefetch: u16,
    pub(crate) concurrency: usize,
    pub(crate) batch_size: usize,
    /// How long a batch that is not full waits for more deliveries.
    pub(crate) batch_linger: Duration,
    pub(crate) savepoint_per_handler: bool,
    /// The handler timeout, in ms (0: none): no statement of a handler transaction may run
    /// longer than twice that (see [`QueueRuntime::begin_statement`]).
    pub(crate) handler_timeout_ms: u64,
}

/// Why a consume loop returned.
pub(crate) enum ConsumeEnd {
    /// Shutdown was asked; in-flight work has been acked.
    Drained,
    /// The channel or connection failed; unacked messages go back to the queue by themselves.
    Lost(String),
    /// The database is out of reach: consumption stopped, every delivery held was given back
    /// (no attempt counted); the caller waits for the database before consuming again.
    DatabaseDown(String),
}

/// Why a worker stopped.
enum WorkerEnd {
    /// Asked to (shutdown, or a rival worker stopped the consumer).
    Stopped,
    LinkLost(String),
    DatabaseDown(String),
}

impl QueueRuntime {
    /// Consumes on `channel` until `shutdown`, until the link fails, or until the database is out
    /// of reach (then the channel is closed, which gives back whatever it still held).
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
        // Cancelled by the first worker that sees the link fail or the database out of reach, so
        // the others stop taking more.
        let stop = shutdown.child_token();
        let mut workers = JoinSet::new();
        for _ in 0..self.concurrency.max(1) {
            let runtime = Arc::clone(self);
            let source = Arc::clone(&source);
            let stop = stop.clone();
            workers.spawn(async move { runtime.work(&source, &stop).await });
        }
        let mut end = ConsumeEnd::Drained;
        while let Some(worker) = workers.join_next().await {
            match worker {
                Ok(WorkerEnd::Stopped) => {}
                Ok(WorkerEnd::LinkLost(reason)) => end = ConsumeEnd::Lost(reason),
                Ok(WorkerEnd::DatabaseDown(reason)) => {
                    if !matches!(end, ConsumeEnd::Lost(_)) {
                        end = ConsumeEnd::DatabaseDown(reason);
                    }
                }
                // A bug of the runtime itself (handlers' panics are caught): let the supervisor
                // start over on a new channel, which gives the unacked deliveries back.
                Err(error) => {
                    stop.cancel();
                    end = ConsumeEnd::Lost(format!("a consumer worker failed: {error}"));
                }
            }
        }
        if !matches!(end, ConsumeEnd::Lost(_)) {
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
    /// until `stop` (shutdown, or a rival worker saw the link fail or the database out of reach).
    async fn work(&self, source: &Mutex<Consumer>, stop: &CancellationToken) -> WorkerEnd {
        let mut held: HeldConnection = None;
        loop {
            match self.next_batch(source, &mut held, stop).await {
                Ok(Some(batch)) => {
                    if let Some(reason) = self.handle_batch(&mut held, batch).await {
                        stop.cancel();
                        return WorkerEnd::DatabaseDown(reason);
                    }
                }
                Ok(None) => return WorkerEnd::Stopped,
                Err(reason) => {
                    stop.cancel();
                    return WorkerEnd::LinkLost(reason);
                }
            }
        }
    }

    /// Waits for a delivery, then takes the ones already prefetched behind it, and, with a
    /// linger, those that arrive within it, until the batch is full. Whenever it has to wait for
    /// a first delivery, the worker's connection goes back to the pool first: an idle queue holds
    /// none.
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
        let full = self.batch_size.max(1);
        while batch.len() < full {
            match consumer.next().now_or_never() {
                Some(next) => batch.push(arrived(next)?),
                None => break,
            }
        }
        if batch.len() < full && !self.batch_linger.is_zero() {
            let linger = tokio::time::sleep(self.batch_linger);
            tokio::pin!(linger);
            while batch.len() < full {
                tokio::select! {
                    biased;
                    // Shutdown handles what was taken; it does not wait for more.
                    _ = stop.cancelled() => break,
                    () = &mut linger => break,
                    next = consumer.next() => batch.push(arrived(next)?),
                }
            }
        }
        Ok(Some(batch))
    }
}

/// A delivery off the consumer stream, or why the stream ended.
fn arrived(next: Option<Result<Delivery, lapin::Error>>) -> Result<Delivery, String> {
    match next {
        Some(Ok(delivery)) => Ok(delivery),
        Some(Err(error)) => Err(error.to_string()),
        None => Err("the broker cancelled the consumer".into()),
    }
}

impl QueueRuntime {
    /// Returns once the database answers again (or at `shutdown`), probing it with growing
    /// pauses; `bus_consumer_paused{queue}` is 1 meanwhile.
    pub(crate) async fn database_back(&self, shutdown: &CancellationToken) {
        let paused = metrics::gauge!("bus_consumer_paused", "queue" => self.queue.clone());
        paused.set(1.0);
        let mut pause = Duration::from_millis(100);
        loop {
            let probe = sqlx::query("SELECT 1").execute(&self.pool);
            match tokio::time::timeout(Duration::from_secs(2), probe).await {
                Ok(Ok(_)) => break,
                Ok(Err(error)) => tracing::debug!(%error, "the database still does not answer"),
                Err(_) => tracing::debug!("the database still does not answer in time"),
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(pause) => {}
            }
            pause = (pause * 2).min(Duration::from_secs(5));
        }
        paused.set(0.0);
    }
}
