//! Raw AMQP on a scenario's vhost, behind the services' backs: copies of real messages,
//! poison, and the dead letters the services parked.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use anyhow::Context;
use contracts::catalog;
use event_bus::{
    Envelope, envelope,
    topology::{dead_letter_queue, service_queue},
};
use futures_util::StreamExt;
use lapin::{
    BasicProperties, Channel, Connection, ConnectionProperties,
    options::{
        BasicConsumeOptions, BasicGetOptions, BasicPublishOptions, ConfirmSelectOptions,
        QueueBindOptions, QueueDeclareOptions,
    },
    types::FieldTable,
    uri::{AMQPAuthority, AMQPQueryString, AMQPScheme, AMQPUri, AMQPUserInfo},
};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::service::Service;

/// The exchanges of the four producers.
const EXCHANGES: [&str; 4] = ["order", "billing", "logistics", "mailer"];

/// Opens a connection named `name` to `vhost` on the broker at `port`. Its heartbeat is long:
/// the suite's own links must not be the ones that fail on a busy machine.
pub async fn connect(port: u16, vhost: &str, name: &str) -> anyhow::Result<Connection> {
    let uri = AMQPUri {
        scheme: AMQPScheme::AMQP,
        authority: AMQPAuthority {
            userinfo: AMQPUserInfo {
                username: "guest".into(),
                password: "guest".into(),
            },
            host: "127.0.0.1".into(),
            port,
        },
        vhost: vhost.to_owned(),
        query: AMQPQueryString {
            heartbeat: Some(60),
            ..AMQPQueryString::default()
        },
    };
    Connection::connect_uri(
        uri,
        ConnectionProperties::default().with_connection_name(name.into()),
    )
    .await
    .with_context(|| format!("Failed to connect to vhost {vhost}"))
}

/// Publishes with confirms, as the node's `guest` (the suite's connections' user, which the
/// services trust as an extra publisher of every exchange; RabbitMQ refuses any other `user_id`,
/// so a copy of a service's message is published as `guest`); `mandatory` makes an unroutable
/// message an error.
pub(crate) async fn publish(
    channel: &Channel,
    exchange: &str,
    routing_key: &str,
    payload: &[u8],
    properties: BasicProperties,
) -> anyhow::Result<()> {
    let properties = properties.with_user_id("guest".into());
    let confirmation = channel
        .basic_publish(
            exchange.into(),
            routing_key.into(),
            BasicPublishOptions {
                mandatory: true,
                ..BasicPublishOptions::default()
            },
            payload,
            properties,
        )
        .await
        .with_context(|| format!("Failed to publish on {routing_key}"))?
        .await
        .with_context(|| format!("No confirm for {routing_key}"))?;
    anyhow::ensure!(
        confirmation.is_ack() && confirmation.take_message().is_none(),
        "{routing_key} was refused or unroutable"
    );
    Ok(())
}

/// Republishes every message of the flow, as it passes, `copies` more times with the same
/// message id and properties: what a producer retrying after a lost confirm, or a broker
/// redelivering, does. Runs until [`Duplicator::finish`].
pub struct Duplicator {
    stop: CancellationToken,
    task: JoinHandle<anyhow::Result<Duplicated>>,
}

/// What the duplicator did.
#[derive(Debug, Default, Clone, Copy)]
pub struct Duplicated {
    /// Distinct messages seen.
    pub seen: usize,
    /// Copies published.
    pub copies: usize,
}

impl Duplicator {
    /// Binds a queue of its own to every exchange (`#`) and starts copying.
    pub async fn start(port: u16, vhost: &str, copies: usize) -> anyhow::Result<Self> {
        let connection = connect(port, vhost, "fault-suite-duplicator").await?;
        let listening = connection.create_channel().await?;
        for exchange in EXCHANGES {
            event_bus::topology::declare_exchange(&listening, exchange)
                .await
                .with_context(|| format!("Failed to declare exchange {exchange}"))?;
        }
        let queue = "fault-suite.duplicator";
        listening
            .queue_declare(
                queue.into(),
                QueueDeclareOptions {
                    exclusive: true,
                    auto_delete: true,
                    ..QueueDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await?;
        for exchange in EXCHANGES {
            listening
                .queue_bind(
                    queue.into(),
                    exchange.into(),
                    "#".into(),
                    QueueBindOptions::default(),
                    FieldTable::default(),
                )
                .await?;
        }
        let consumer = listening
            .basic_consume(
                queue.into(),
                "".into(),
                BasicConsumeOptions {
                    no_ack: true,
                    ..BasicConsumeOptions::default()
                },
                FieldTable::default(),
            )
            .await?;
        let publishing = connection.create_channel().await?;
        publishing
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        let stop = CancellationToken::new();
        let task = tokio::spawn(copy_all(
            connection,
            consumer,
            publishing,
            copies,
            stop.clone(),
        ));
        Ok(Self { stop, task })
    }

    /// Stops copying; how much was copied.
    pub async fn finish(self) -> anyhow::Result<Duplicated> {
        self.stop.cancel();
        self.task.await.context("The duplicator panicked")?
    }
}

async fn copy_all(
    connection: Connection,
    mut consumer: lapin::Consumer,
    publishing: Channel,
    copies: usize,
    stop: CancellationToken,
) -> anyhow::Result<Duplicated> {
    let mut seen = HashSet::new();
    let mut done = Duplicated::default();
    loop {
        let delivery = tokio::select! {
            () = stop.cancelled() => break,
            delivery = consumer.next() => delivery,
        };
        let delivery = delivery
            .context("The duplicator's consumer ended before it was asked to stop")?
            .context("The duplicator's consumer failed")?;
        let Some(id) = delivery.properties.message_id().clone() else {
            continue;
        };
        // Copies come back through the same binding: copy each message once.
        if !seen.insert(id) {
            continue;
        }
        done.seen += 1;
        for _ in 0..copies {
            publish(
                &publishing,
                delivery.exchange.as_str(),
                delivery.routing_key.as_str(),
                &delivery.data,
                delivery.properties.clone(),
            )
            .await?;
            done.copies += 1;
        }
    }
    let _ = connection.close(200, "done".into()).await;
    Ok(done)
}

/// The size of an oversized poison: more than the services' default `bus.max_message_bytes`.
const OVERSIZED_BYTES: usize = 1024 * 1024 + 1024;

/// What a poisonous message is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Poison {
    /// Bytes that are not JSON.
    Garbage,
    /// JSON, but not the event's shape.
    WrongShape,
    /// A version no consumer knows (99), with a plausible payload.
    UnknownVersion,
    /// A body larger than a consumer takes in (`bus.max_message_bytes`, 1 MiB by default).
    Oversized,
}

/// One poisonous message that was published, and the queues it must end up dead in.
#[derive(Debug, Clone)]
pub struct Injected {
    pub message_id: String,
    pub routing_key: String,
    pub poison: Poison,
    pub queues: Vec<Service>,
}

impl Poison {
    /// The words the dead letter's `x-error` must contain.
    pub fn expected_reason(self) -> &'static str {
        match self {
            Self::Garbage | Self::WrongShape => "malformed payload",
            Self::UnknownVersion => "unknown version 99",
            Self::Oversized => "bytes, more than the",
        }
    }
}

/// Publishes garbage, a wrong shape and an unknown version on every event family a service of
/// the flow binds; returns what was sent and where each must be dead-lettered.
pub async fn inject_poison(port: u16, vhost: &str) -> anyhow::Result<Vec<Injected>> {
    let connection = connect(port, vhost, "fault-suite-poisoner").await?;
    let channel = connection.create_channel().await?;
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await?;
    let core: BTreeSet<&str> = Service::ALL.iter().map(|service| service.name()).collect();
    // Valid JSON of the event's shape would not matter: it is refused before it is read.
    let oversized = format!(r#"{{"padding":"{}"}}"#, "x".repeat(OVERSIZED_BYTES)).into_bytes();
    let newest: BTreeMap<(&str, &str), u32> =
        catalog::all()
            .into_iter()
            .fold(BTreeMap::new(), |mut newest, event| {
                let version = newest.entry((event.exchange, event.name)).or_insert(0);
                *version = (*version).max(event.version);
                newest
            });
    let families: BTreeSet<(&str, String)> = catalog::subscriptions()
        .into_iter()
        .filter(|subscription| core.contains(subscription.service))
        .map(|subscription| (subscription.exchange, subscription.pattern))
        .collect();
    let mut injected = Vec::new();
    for (exchange, pattern) in families {
        let name = pattern.rsplit('.').next().unwrap_or_default();
        let version = newest.get(&(exchange, name)).copied().unwrap_or(1);
        let current = format!("{exchange}.v{version}.{name}");
        let unknown = format!("{exchange}.v99.{name}");
        let plausible = serde_json::json!({ "order_id": Uuid::new_v4() }).to_string();
        let current_again = current.clone();
        let messages = [
            (
                Poison::Garbage,
                current.clone(),
                b"\xff\xfe{not json".to_vec(),
            ),
            (
                Poison::WrongShape,
                current,
                br#"{"unexpected":"shape","order_id":42}"#.to_vec(),
            ),
            (Poison::UnknownVersion, unknown, plausible.into_bytes()),
            (Poison::Oversized, current_again, oversized.clone()),
        ];
        for (poison, routing_key, payload) in messages {
            let message_id = Uuid::new_v4().to_string();
            let version = if poison == Poison::UnknownVersion {
                99
            } else {
                version
            };
            let envelope = Envelope {
                message_id: message_id.clone(),
                exchange: exchange.to_owned(),
                routing_key: routing_key.clone(),
                version,
                correlation_id: Some("poison".into()),
                causation_id: None,
                producer: None,
                sender: None,
                timestamp: None,
                traceparent: None,
                attempt: 1,
            };
            let properties = envelope.properties("fault-suite");
            publish(&channel, exchange, &routing_key, &payload, properties).await?;
            let queues = catalog::subscribers(exchange, &routing_key)
                .into_iter()
                .filter_map(Service::parse)
                .collect();
            injected.push(Injected {
                message_id,
                routing_key,
                poison,
                queues,
            });
        }
    }
    let _ = connection.close(200, "done".into()).await;
    Ok(injected)
}

/// A message a service gave up on, as found in `<queue>.dead`.
#[derive(Debug, Clone)]
pub struct DeadLetter {
    pub queue: Service,
    pub message_id: Option<String>,
    /// The routing key it first arrived with.
    pub routing_key: String,
    /// `x-error`: why.
    pub reason: String,
    /// `x-dead-letter-kind`: `decode` (never retried) or `handler` (attempts used up).
    pub kind: String,
}

/// Takes every message out of the four `<service>.dead` queues.
pub async fn take_dead_letters(port: u16, vhost: &str) -> anyhow::Result<Vec<DeadLetter>> {
    let connection = connect(port, vhost, "fault-suite-dead-letters").await?;
    let channel = connection.create_channel().await?;
    let mut letters = Vec::new();
    for service in Service::ALL {
        let queue = dead_letter_queue(&service_queue(service.name()));
        while let Some(message) = channel
            .basic_get(queue.as_str().into(), BasicGetOptions { no_ack: true })
            .await
            .with_context(|| format!("Failed to read {queue}"))?
        {
            let delivery = message.delivery;
            let properties = &delivery.properties;
            let headers = properties.headers().as_ref();
            let (_, routing_key) = envelope::parked_arrival(&delivery);
            letters.push(DeadLetter {
                queue: service,
                message_id: properties.message_id().as_ref().map(|id| id.to_string()),
                routing_key,
                reason: envelope::header_str(headers, envelope::ERROR).unwrap_or_default(),
                kind: envelope::header_str(headers, envelope::DEAD_LETTER_KIND).unwrap_or_default(),
            });
        }
    }
    let _ = connection.close(200, "done".into()).await;
    Ok(letters)
}
