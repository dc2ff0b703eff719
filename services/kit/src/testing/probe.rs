//! Seeing what a service publishes: a queue of the test's own, bound on the test vhost before
//! the service publishes, and the messages taken from it.

use event_bus::Event;
use event_bus::testing::TestBroker;
use lapin::options::{BasicGetOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel};
use serde_json::Value;
use uuid::Uuid;

use super::eventually;

/// A queue bound to one exchange of the test vhost with one pattern, and the channel it was
/// declared on. What matches from the moment it is bound lands there, in order.
pub struct Probe {
    channel: Channel,
    queue: String,
}

impl Probe {
    /// Declares a fresh queue on `broker`'s vhost and binds it with `pattern`. The exchange is
    /// the pattern's first word: every routing key of the bus starts with its exchange
    /// (`<exchange>.v<version>.<name>`), so `billing.*.*` is bound on `billing`.
    pub async fn bind(broker: &TestBroker, pattern: &str) -> Self {
        let exchange = match pattern.split('.').next() {
            Some(word) if !word.is_empty() && word != "*" && word != "#" => word,
            _ => panic!("a probe's pattern must start with its exchange, not `{pattern}`"),
        };
        let channel = broker.raw_channel().await;
        let queue = format!("probe-{}", Uuid::new_v4().simple());
        channel
            .queue_declare(
                queue.as_str().into(),
                QueueDeclareOptions::default(),
                FieldTable::default(),
            )
            .await
            .expect("declare the probe queue");
        channel
            .queue_bind(
                queue.as_str().into(),
                exchange.into(),
                pattern.into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .expect("bind the probe queue");
        Self { channel, queue }
    }

    /// The next message (waiting for it, bounded).
    pub async fn next(&self) -> Published {
        take(&self.channel, &self.queue).await
    }

    /// The next message, which must be an `E` (any other routing key fails the test).
    pub async fn next_event<E: Event>(&self) -> E {
        self.next().await.event()
    }

    /// How many messages wait in the queue right now.
    pub async fn waiting(&self) -> u32 {
        queue_length(&self.channel, &self.queue).await
    }
}

/// A message taken from a queue.
pub struct Published {
    pub routing_key: String,
    pub properties: BasicProperties,
    /// The body as JSON: every message of the bus is.
    pub payload: Value,
    body: Vec<u8>,
}

impl Published {
    /// The flow the message belongs to (empty without one).
    pub fn correlation_id(&self) -> String {
        self.properties
            .correlation_id()
            .as_ref()
            .map(|id| id.to_string())
            .unwrap_or_default()
    }

    /// The header `name` as text, if the message has it and it is a string (read as the bus
    /// reads its own headers).
    pub fn header(&self, name: &str) -> Option<String> {
        event_bus::envelope::header_str(self.properties.headers().as_ref(), name)
    }

    /// The message as an `E`, decoded as the bus would; fails the test if it is anything else.
    pub fn event<E: Event>(&self) -> E {
        assert_eq!(
            self.routing_key,
            E::ROUTING_KEY,
            "unexpected event: {}",
            self.payload
        );
        E::decode(E::VERSION, &self.body).expect("decode the published event")
    }
}

/// Takes the next message of `queue` (acknowledged on the way), waiting for one (bounded).
pub(super) async fn take(channel: &Channel, queue: &str) -> Published {
    let options = BasicGetOptions { no_ack: true };
    let message = eventually(format!("a message in `{queue}`"), || async {
        channel
            .basic_get(queue.into(), options)
            .await
            .expect("basic.get")
    })
    .await;
    let delivery = message.delivery;
    Published {
        routing_key: delivery.routing_key.to_string(),
        payload: serde_json::from_slice(&delivery.data).expect("a JSON payload"),
        properties: delivery.properties,
        body: delivery.data,
    }
}

/// How many messages wait in `queue` (which must exist) right now.
pub(super) async fn queue_length(channel: &Channel, queue: &str) -> u32 {
    event_bus::testing::queue_state(channel, queue)
        .await
        .messages
}
