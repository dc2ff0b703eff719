//! The same hop written directly on lapin, as a careful lapin user would write it: the same
//! message (payload bytes, persistence, `mandatory`, the bus's properties and headers), the same
//! confirm window (a batch of pipelined confirms), the same prefetch and the same number of
//! messages handled at once. With an inbox pool, each message gets the work a correct consumer
//! must do (decode, a transaction recording its id in the inbox, commit, then ack); without one,
//! it is decoded and acked, which shows what the inbox costs.

use std::{ops::Range, sync::Arc};

use chrono::Utc;
use futures_util::{StreamExt, future::join_all};
use lapin::{
    BasicProperties, Channel, Confirmation, Connection, ConnectionProperties, ExchangeKind,
    options::{
        BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions,
        ConfirmSelectOptions, ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions,
    },
    types::{AMQPValue, FieldTable, LongString},
};
use sqlx::PgPool;
use tokio::sync::Semaphore;
use tokio_util::{sync::CancellationToken, task::TaskTracker};
use uuid::Uuid;

use event_bus::{Event, testing::TestBroker};

use crate::support::{Probe, Progress, probe};

/// The binding pattern the bus would use for [`Probe`]: every version of `bench.probe`.
const PATTERN: &str = "bench.*.probe";

async fn connect(broker: &TestBroker, name: &str) -> Connection {
    Connection::connect_uri(
        broker.broker_settings().uri(),
        ConnectionProperties::default().with_connection_name(name.into()),
    )
    .await
    .expect("connect to the benchmark vhost")
}

async fn declare_exchange(channel: &Channel) {
    channel
        .exchange_declare(
            Probe::EXCHANGE.into(),
            ExchangeKind::Topic,
            ExchangeDeclareOptions {
                durable: true,
                ..ExchangeDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await
        .expect("declare the exchange");
}

/// Declares a durable classic queue `name` bound to every version of the probe, as the bus does.
pub async fn declare_queue(channel: &Channel, name: &str) {
    declare_exchange(channel).await;
    let mut arguments = FieldTable::default();
    arguments.insert(
        "x-queue-type".into(),
        AMQPValue::LongString(LongString::from(b"classic".to_vec())),
    );
    channel
        .queue_declare(name.into(), QueueDeclareOptions::durable(), arguments)
        .await
        .expect("declare the queue");
    channel
        .queue_bind(
            name.into(),
            Probe::EXCHANGE.into(),
            PATTERN.into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .expect("bind the queue");
}

/// The properties the bus gives a message: ids, flow, time, type, producer, persistence, version.
fn properties(event: &Probe) -> BasicProperties {
    let mut headers = FieldTable::default();
    headers.insert(
        "x-event-version".into(),
        AMQPValue::LongLongInt(i64::from(Probe::VERSION)),
    );
    BasicProperties::default()
        .with_message_id(Uuid::now_v7().to_string().into())
        .with_correlation_id(event.order_id.to_string().into())
        .with_timestamp(Utc::now().timestamp().max(0) as u64)
        .with_content_type("application/json".into())
        .with_type(Probe::ROUTING_KEY.into())
        .with_app_id("raw-source".into())
        .with_delivery_mode(2)
        .with_headers(headers)
}

/// Publishes probes on a confirm channel of its own connection.
pub struct Publisher {
    connection: Connection,
    channel: Channel,
}

impl Publisher {
    pub async fn connect(broker: &TestBroker) -> Self {
        let connection = connect(broker, "raw-source").await;
        let channel = connection.create_channel().await.expect("open a channel");
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .expect("enable confirms");
        declare_exchange(&channel).await;
        Self {
            connection,
            channel,
        }
    }

    /// Publishes probes `numbers` with their confirms pipelined, and checks every confirm.
    pub async fn publish_batch(&self, numbers: Range<u64>) {
        let mut confirms = Vec::with_capacity((numbers.end - numbers.start) as usize);
        for n in numbers {
            let event = probe(n);
            let payload = serde_json::to_vec(&event).expect("encode a probe");
            let confirm = self
                .channel
                .basic_publish(
                    Probe::EXCHANGE.into(),
                    Probe::ROUTING_KEY.into(),
                    BasicPublishOptions {
                        mandatory: true,
                        ..BasicPublishOptions::default()
                    },
                    &payload,
                    properties(&event),
                )
                .await
                .expect("publish");
            confirms.push(confirm);
        }
        for confirmation in join_all(confirms).await {
            match confirmation.expect("a confirm") {
                Confirmation::Ack(None) => {}
                other => panic!("the broker did not take a probe: {other:?}"),
            }
        }
    }

    pub async fn close(self) {
        let _ = self.channel.close(200, "done".into()).await;
        let _ = self.connection.close(200, "done".into()).await;
    }
}

/// A consumer of one queue, on a connection of its own.
pub struct Consumer {
    connection: Connection,
    channel: Channel,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Consumer {
    /// Declares queue `name` and consumes it with `prefetch` and `concurrency` like the bus; with
    /// `inbox`, each message is recorded in the inbox table in a transaction committed before
    /// the ack.
    pub async fn start(
        broker: &TestBroker,
        name: &str,
        prefetch: u16,
        concurrency: usize,
        inbox: Option<PgPool>,
        progress: Arc<Progress>,
    ) -> Self {
        let connection = connect(broker, name).await;
        let channel = connection.create_channel().await.expect("open a channel");
        declare_queue(&channel, name).await;
        channel
            .basic_qos(prefetch, BasicQosOptions { global: false })
            .await
            .expect("set the prefetch");
        let mut consumer = channel
            .basic_consume(
                name.into(),
                "".into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .expect("consume");
        let stop = CancellationToken::new();
        let stopping = stop.clone();
        let queue: Arc<str> = name.into();
        let task = tokio::spawn(async move {
            let slots = Arc::new(Semaphore::new(concurrency.max(1)));
            let in_flight = TaskTracker::new();
            loop {
                let slot = tokio::select! {
                    _ = stopping.cancelled() => break,
                    slot = slots.clone().acquire_owned() => slot.expect("semaphore open"),
                };
                let delivery = tokio::select! {
                    _ = stopping.cancelled() => break,
                    delivery = consumer.next() => delivery,
                };
                let Some(Ok(delivery)) = delivery else { break };
                let inbox = inbox.clone();
                let queue = queue.clone();
                let progress = progress.clone();
                in_flight.spawn(async move {
                    handle(delivery, &queue, inbox.as_ref(), &progress).await;
                    drop(slot);
                });
            }
            in_flight.close();
            in_flight.wait().await;
        });
        Self {
            connection,
            channel,
            stop,
            task,
        }
    }

    pub async fn stop(self) {
        self.stop.cancel();
        let _ = self.task.await;
        let _ = self.channel.close(200, "done".into()).await;
        let _ = self.connection.close(200, "done".into()).await;
    }
}

/// Decodes, records in the inbox (when there is one) and acks. Counted where the bus's handler
/// counts: after the work, before the commit and the ack.
async fn handle(
    delivery: lapin::message::Delivery,
    queue: &str,
    inbox: Option<&PgPool>,
    progress: &Progress,
) {
    let event: Probe = serde_json::from_slice(&delivery.data).expect("decode a probe");
    std::hint::black_box(&event);
    match inbox {
        Some(pool) => {
            let message_id = delivery
                .properties
                .message_id()
                .as_ref()
                .expect("a message id")
                .as_str();
            let mut tx = pool.begin().await.expect("begin");
            sqlx::query(
                "INSERT INTO event_bus_inbox (consumer, message_id, routing_key) VALUES ($1, $2, $3)
                 ON CONFLICT DO NOTHING",
            )
            .bind(queue)
            .bind(message_id)
            .bind(delivery.routing_key.as_str())
            .execute(&mut *tx)
            .await
            .expect("record in the inbox");
            progress.add();
            tx.commit().await.expect("commit");
        }
        None => progress.add(),
    }
    delivery.ack(BasicAckOptions::default()).await.expect("ack");
}
