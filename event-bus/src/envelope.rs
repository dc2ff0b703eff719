//! The envelope: what a message says about itself, besides its payload, and its one mapping to
//! and from AMQP properties.
//!
//! Every message the bus publishes carries `message_id` (a UUID v7, unique), `correlation_id` (the
//! flow, e.g. the order id), `timestamp`, `content_type` `application/json`, `type` (the routing
//! key), `app_id` (the producing service), and headers for the causation id, the event version,
//! the W3C `traceparent` and, on retries, the attempt number. [`Envelope::properties`] is the only
//! encoder and [`Envelope::decode`] the only decoder: the publisher, the consumer and any observer
//! (the tracker) read and write the same fields the same way.

use chrono::{DateTime, Utc};
use lapin::{
    BasicProperties,
    types::{AMQPValue, FieldTable, LongString, ShortString},
};
use uuid::Uuid;

use crate::{
    error::DecodeError,
    event::{Event, RoutingKey},
    trace_context::{TRACEPARENT, TraceContext},
};

/// Header naming the message that caused this one.
pub const CAUSATION_ID: &str = "x-causation-id";
/// Header carrying the event version (also the middle part of the routing key).
pub const EVENT_VERSION: &str = "x-event-version";
/// Header counting deliveries to the handler: 1 on the first, 2 on the first retry...
pub const ATTEMPT: &str = "x-attempt";
/// Header with the last handler error or the reason a message was dead-lettered.
pub const ERROR: &str = "x-error";
/// Header on dead letters: `decode` (never retried) or `handler` (attempts used up).
pub const DEAD_LETTER_KIND: &str = "x-dead-letter-kind";
/// Header on dead letters and retries: the routing key the message first arrived with.
pub const ORIGINAL_ROUTING_KEY: &str = "x-original-routing-key";
/// Header on dead letters and retries: the exchange the message first arrived from.
pub const ORIGINAL_EXCHANGE: &str = "x-original-exchange";
/// Header on dead letters and retries: the `user_id` the message first arrived with (its
/// verified sender), kept because the copy is published under the consumer's own identity.
pub const ORIGINAL_USER_ID: &str = "x-original-user-id";

/// A message's metadata: who sent it, which event of which flow it is, what caused it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Envelope {
    /// Unique per message (a UUID v7 for the bus's own); the inbox deduplicates on it.
    pub message_id: String,
    /// The topic exchange the message was published on (its first one, for a retried copy).
    pub exchange: String,
    /// `<exchange>.v<version>.<name>` (the first one, for a retried copy).
    pub routing_key: String,
    pub version: u32,
    /// The flow the message belongs to (the order id, in the shop).
    pub correlation_id: Option<String>,
    /// The message whose handling published this one.
    pub causation_id: Option<String>,
    /// The producing service (`app_id`), as it says: anyone can write it.
    pub producer: Option<String>,
    /// The broker user that published it (`user_id`, which RabbitMQ checks against the
    /// connection's user), or for a copy from the consumer's own retry path the one its first
    /// delivery had (`x-original-user-id`). `None` when the publisher did not identify itself.
    #[serde(default)]
    pub sender: Option<String>,
    /// When the producer created it: to the millisecond when its id is a UUID v7, else the AMQP
    /// timestamp, which has only whole seconds.
    pub timestamp: Option<DateTime<Utc>>,
    /// The W3C trace context of the hop that published it.
    pub traceparent: Option<String>,
    /// 1 on the first delivery to a handler, then one more per retry.
    pub attempt: u32,
}

impl Envelope {
    /// A new message of `E`, in flow `correlation_id`, caused by `causation_id`, in the trace of
    /// the work in progress.
    pub fn new<E: Event>(correlation_id: impl Into<String>, causation_id: Option<String>) -> Self {
        let message_id = Uuid::now_v7().to_string();
        Self {
            // The time inside the id, so that a decoded envelope says the same to the millisecond.
            timestamp: uuid_v7_time(&message_id).or_else(|| Some(Utc::now())),
            message_id,
            exchange: E::EXCHANGE.to_owned(),
            routing_key: E::ROUTING_KEY.to_owned(),
            version: E::VERSION,
            correlation_id: Some(correlation_id.into()),
            causation_id,
            producer: None,
            sender: None,
            traceparent: TraceContext::current().map(|context| context.child().to_string()),
            attempt: 1,
        }
    }

    /// The correlation id to give what this message causes: its own, or its id when it has none.
    pub fn flow_id(&self) -> &str {
        self.correlation_id.as_deref().unwrap_or(&self.message_id)
    }

    /// The AMQP properties of this message, published by `producer` (the connection's service).
    pub fn properties(&self, producer: &str) -> BasicProperties {
        let mut headers = FieldTable::default();
        headers.insert(
            EVENT_VERSION.into(),
            AMQPValue::LongLongInt(i64::from(self.version)),
        );
        if let Some(causation_id) = &self.causation_id {
            headers.insert(CAUSATION_ID.into(), long_string(causation_id));
        }
        if let Some(traceparent) = &self.traceparent {
            headers.insert(TRACEPARENT.into(), long_string(traceparent));
        }
        let mut properties = BasicProperties::default()
            .with_message_id(self.message_id.as_str().into())
            .with_content_type("application/json".into())
            .with_type(self.routing_key.as_str().into())
            .with_app_id(producer.into())
            .with_delivery_mode(2)
            .with_headers(headers);
        if let Some(correlation_id) = &self.correlation_id {
            properties = properties.with_correlation_id(correlation_id.as_str().into());
        }
        if let Some(timestamp) = self.timestamp {
            properties = properties.with_timestamp(timestamp.timestamp().max(0) as u64);
        }
        properties
    }

    /// Reads the envelope of a message delivered from `exchange` with `routing_key`. A copy that
    /// came back from the consumer's own retry path (`retried`: it arrived from the queue's
    /// [retry exchange](crate::topology::retry_exchange)) is read as the message it first was:
    /// its original exchange and key, and the attempt it is at. On a first delivery those headers
    /// are ignored: anyone could have set them.
    pub fn decode(
        exchange: &str,
        routing_key: &str,
        properties: &BasicProperties,
        retried: bool,
    ) -> Result<Self, DecodeError> {
        let (exchange, routing_key) = arrival(exchange, routing_key, properties, retried);
        Self::read(
            exchange,
            routing_key,
            attempt(properties, retried),
            sender(properties, retried),
            properties,
        )
    }

    /// The rest of [`Self::decode`], for a caller that already knows where the delivery first
    /// arrived and at which attempt (the consumer, which needs them even when this fails).
    pub(crate) fn read(
        exchange: String,
        routing_key: String,
        attempt: u32,
        sender: Option<String>,
        properties: &BasicProperties,
    ) -> Result<Self, DecodeError> {
        let headers = properties.headers().as_ref();
        let version = RoutingKey::parse(&routing_key)?.version;
        let message_id = properties
            .message_id()
            .as_ref()
            .map(|id| id.to_string())
            .filter(|id| !id.is_empty())
            .ok_or(DecodeError::MissingMessageId)?;
        let sent_at = properties
            .timestamp()
            .and_then(|seconds| DateTime::from_timestamp(i64::try_from(seconds).ok()?, 0));
        Ok(Self {
            timestamp: uuid_v7_time(&message_id).or(sent_at),
            message_id,
            exchange,
            routing_key,
            version,
            correlation_id: properties
                .correlation_id()
                .as_ref()
                .map(|id| id.to_string()),
            causation_id: header_str(headers, CAUSATION_ID),
            producer: properties.app_id().as_ref().map(|id| id.to_string()),
            sender,
            traceparent: header_str(headers, TRACEPARENT),
            attempt,
        })
    }
}

/// The broker user that first published a delivery: its verified `user_id` on a first delivery;
/// on a copy from the consumer's own retry path (`retried`), the one recorded when it was first
/// parked. A first delivery's `x-original-user-id` is ignored: anyone could have set it.
pub fn sender(properties: &BasicProperties, retried: bool) -> Option<String> {
    if retried {
        header_str(properties.headers().as_ref(), ORIGINAL_USER_ID)
    } else {
        properties.user_id().as_ref().map(|id| id.to_string())
    }
}

/// The exchange and routing key a delivery first arrived with: its own on a first delivery, the
/// recorded ones on a copy that came back from the consumer's own retry path (`retried`).
pub fn arrival(
    exchange: &str,
    routing_key: &str,
    properties: &BasicProperties,
    retried: bool,
) -> (String, String) {
    if !retried {
        return (exchange.to_owned(), routing_key.to_owned());
    }
    let headers = properties.headers().as_ref();
    let key = header_str(headers, ORIGINAL_ROUTING_KEY)
        .or_else(|| properties.kind().as_ref().map(|kind| kind.to_string()))
        .unwrap_or_else(|| routing_key.to_owned());
    let exchange = header_str(headers, ORIGINAL_EXCHANGE)
        .or_else(|| {
            RoutingKey::parse(&key)
                .ok()
                .map(|key| key.exchange.to_owned())
        })
        .unwrap_or_default();
    (exchange, key)
}

/// The attempt a delivery is at: its `x-attempt` on a copy that came back from the consumer's
/// own retry path (`retried`), else 1 (on a first delivery the header is anybody's word).
pub fn attempt(properties: &BasicProperties, retried: bool) -> u32 {
    if retried {
        header_u32(properties.headers().as_ref(), ATTEMPT)
            .unwrap_or(1)
            .max(1)
    } else {
        1
    }
}

/// [`arrival`] of a parked copy (read from a dead-letter or retry queue, which only the
/// runtime's own retry path fills): the exchange and routing key it first arrived with.
pub fn parked_arrival(delivery: &lapin::message::Delivery) -> (String, String) {
    arrival(
        delivery.exchange.as_str(),
        delivery.routing_key.as_str(),
        &delivery.properties,
        true,
    )
}

/// The millisecond time inside a UUID v7 id (the bus's ids carry their creation time).
fn uuid_v7_time(message_id: &str) -> Option<DateTime<Utc>> {
    let id = Uuid::parse_str(message_id)
        .ok()
        .filter(|id| id.get_version_num() == 7)?;
    let (seconds, nanos) = id.get_timestamp()?.to_unix();
    DateTime::from_timestamp(i64::try_from(seconds).ok()?, nanos)
}

pub(crate) fn long_string(value: &str) -> AMQPValue {
    AMQPValue::LongString(LongString::from(value.as_bytes().to_vec()))
}

/// Reads a string header, whichever AMQP string type the producer used.
pub fn header_str(headers: Option<&FieldTable>, key: &str) -> Option<String> {
    match headers?.inner().get(&ShortString::from(key))? {
        AMQPValue::LongString(value) => {
            Some(String::from_utf8_lossy(value.as_bytes()).into_owned())
        }
        AMQPValue::ShortString(value) => Some(value.as_str().to_owned()),
        _ => None,
    }
}

/// Reads an integer header, whichever AMQP integer type the producer used.
pub fn header_u32(headers: Option<&FieldTable>, key: &str) -> Option<u32> {
    let value = headers?.inner().get(&ShortString::from(key))?;
    let number = match value {
        AMQPValue::ShortShortInt(v) => i64::from(*v),
        AMQPValue::ShortShortUInt(v) => i64::from(*v),
        AMQPValue::ShortInt(v) => i64::from(*v),
        AMQPValue::ShortUInt(v) => i64::from(*v),
        AMQPValue::LongInt(v) => i64::from(*v),
        AMQPValue::LongUInt(v) => i64::from(*v),
        AMQPValue::LongLongInt(v) => *v,
        _ => return None,
    };
    u32::try_from(number).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Serialize, serde::Deserialize)]
    struct Ping {
        text: String,
    }
    crate::event!(Ping, exchange = "test", name = "ping", version = 3);

    #[test]
    fn what_is_encoded_is_decoded_the_same() {
        let mut sent = Envelope::new::<Ping>("flow-1", Some("cause-1".into()));
        sent.traceparent = Some(TraceContext::root().to_string());
        let properties = sent.properties("tester");
        let received =
            Envelope::decode("test", "test.v3.ping", &properties, false).expect("decodes");
        assert_eq!(
            received,
            Envelope {
                producer: Some("tester".into()),
                sender: None,
                ..sent.clone()
            }
        );
        assert_eq!(received.flow_id(), "flow-1");
    }

    #[test]
    fn a_retried_copy_is_read_as_the_message_it_first_was() {
        let sent = Envelope::new::<Ping>("flow", None);
        let mut headers = sent.properties("p").headers().clone().unwrap_or_default();
        headers.insert(ORIGINAL_ROUTING_KEY.into(), long_string("test.v3.ping"));
        headers.insert(ORIGINAL_EXCHANGE.into(), long_string("test"));
        headers.insert(ATTEMPT.into(), AMQPValue::LongLongInt(2));
        let properties = sent.properties("p").with_headers(headers);
        let received =
            Envelope::decode("billing.retry", "billing", &properties, true).expect("decodes");
        assert_eq!(received.exchange, "test");
        assert_eq!(received.routing_key, "test.v3.ping");
        assert_eq!(received.attempt, 2);

        // The same headers on a first delivery are nobody's word: ignored.
        let first = Envelope::decode("test", "test.v3.ping", &properties, false).expect("decodes");
        assert_eq!(first.attempt, 1);
        let forged =
            Envelope::decode("other", "other.v1.thing", &properties, false).expect("decodes");
        assert_eq!(forged.routing_key, "other.v1.thing");
        assert_eq!(forged.exchange, "other");
    }

    #[test]
    fn a_message_without_an_id_or_with_a_foreign_key_is_refused() {
        let properties = BasicProperties::default();
        assert_eq!(
            Envelope::decode("test", "test.v1.ping", &properties, false),
            Err(DecodeError::MissingMessageId)
        );
        assert!(matches!(
            Envelope::decode("test", "weird", &properties, false),
            Err(DecodeError::InvalidRoutingKey(_))
        ));
    }

    #[test]
    fn without_a_v7_id_the_amqp_timestamp_is_the_time() {
        let properties = BasicProperties::default()
            .with_message_id("legacy-42".into())
            .with_timestamp(1_700_000_000);
        let received =
            Envelope::decode("test", "test.v1.ping", &properties, false).expect("decodes");
        assert_eq!(
            received.timestamp.map(|t| t.timestamp()),
            Some(1_700_000_000)
        );
        assert_eq!(received.flow_id(), "legacy-42");
    }
}
