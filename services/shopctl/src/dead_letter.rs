//! What a dead letter is: a message the consumer of `<service>` gave up on, parked in
//! `<service>.dead` with its identity, payload and properties, and the headers the bus adds
//! (`event-bus/src/consumer/disposition.rs`): `x-error` (why), `x-dead-letter-kind` (`decode`:
//! never handled; `handler`: attempts used up), `x-attempt`, `x-original-routing-key` and
//! `x-original-exchange`. Read only through `event_bus::envelope`'s constants and readers.

use std::{fmt, str::FromStr};

use chrono::{DateTime, Utc};
use event_bus::envelope::{self, header_str, header_u32};
use lapin::{
    BasicProperties,
    message::Delivery,
    types::{AMQPValue, FieldTable},
};
use serde_json::{Map, Value, json};

use crate::error::Error;

/// Suffix of a dead-letter queue's name (`event_bus::topology::dead_letter_queue`).
const SUFFIX: &str = ".dead";

/// Suffix of a service's queue (`event_bus::topology::service_queue`).
const SERVICE_QUEUE_SUFFIX: &str = ".queue";

/// A dead-letter queue, `<service>.dead`. Nothing else is one: not a service's queue, not its
/// retry queues (`<service>.retry.<ms>ms`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DeadLetterQueue {
    /// `<service>.dead`.
    name: String,
}

impl DeadLetterQueue {
    /// `name` if it is a dead-letter queue's name.
    pub fn parse(name: &str) -> Result<Self, Error> {
        let refused = || Error::NotADeadLetterQueue(name.to_owned());
        let service = name.strip_suffix(SUFFIX).ok_or_else(refused)?;
        if !is_service_queue(service) {
            return Err(refused());
        }
        Ok(Self {
            name: name.to_owned(),
        })
    }

    /// The dead-letter queue of `name`: a service's queue (`billing.queue`), or a service
    /// (`billing`, whose queue is `billing.queue`).
    pub fn of_service(name: &str) -> Result<Self, Error> {
        let queue = if name.ends_with(SERVICE_QUEUE_SUFFIX) {
            name.to_owned()
        } else {
            event_bus::topology::service_queue(name)
        };
        Self::parse(&event_bus::topology::dead_letter_queue(&queue))
    }

    /// `<service>.dead`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The queue its messages came from, where a replay puts them back: the name without `.dead`.
    pub fn service_queue(&self) -> &str {
        &self.name[..self.name.len() - SUFFIX.len()]
    }
}

/// `billing.dead`, or just `billing` for the dead letters of the queue `billing`.
impl FromStr for DeadLetterQueue {
    type Err = Error;

    fn from_str(name: &str) -> Result<Self, Error> {
        if name.ends_with(SUFFIX) {
            Self::parse(name)
        } else if is_service_queue(name) {
            Self::of_service(name)
        } else {
            Err(Error::NotADeadLetterQueue(name.to_owned()))
        }
    }
}

impl fmt::Display for DeadLetterQueue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// A service's queue is neither a dead-letter queue nor a retry queue.
fn is_service_queue(name: &str) -> bool {
    !name.is_empty() && !name.ends_with(SUFFIX) && !name.contains(".retry.")
}

/// Where the time of a dead letter comes from: the bus does not stamp the moment it parks a
/// message, so this is the closest the message itself tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeSource {
    /// The latest `time` of its `x-death` entries: when the broker last moved it out of a retry
    /// queue, just before its last attempt, which failed.
    LastRetry,
    /// Never retried (undecodable, or no retry delays): when it was published, from its UUID v7
    /// id (to the millisecond) or its AMQP `timestamp` (whole seconds).
    Published,
}

/// One message of a dead-letter queue, as read.
#[derive(Debug, Clone)]
pub struct DeadLetter {
    pub queue: DeadLetterQueue,
    /// `None` for a message published without one (it cannot be selected by id).
    pub message_id: Option<String>,
    /// The routing key it first arrived with (`x-original-routing-key`).
    pub routing_key: String,
    /// The exchange it first arrived from (`x-original-exchange`).
    pub exchange: String,
    /// `x-error`: why it was dead-lettered.
    pub reason: Option<String>,
    /// `x-dead-letter-kind`: `decode` or `handler`.
    pub kind: Option<String>,
    /// `x-attempt`: the attempt it failed on.
    pub attempt: Option<u32>,
    /// When it was dead-lettered, as near as the message tells, and how that was found.
    pub dead_lettered_at: Option<(DateTime<Utc>, TimeSource)>,
    pub properties: BasicProperties,
    pub payload: Vec<u8>,
    /// Its tag on the channel that read it: how it is acked or given back.
    pub(crate) delivery_tag: u64,
}

impl DeadLetter {
    /// Reads what the bus recorded on a delivery from `queue`.
    pub(crate) fn read(queue: &DeadLetterQueue, delivery: Delivery) -> Self {
        let properties = delivery.properties;
        let headers = properties.headers().as_ref();
        // Only the runtime's own retry path fills a dead-letter queue: its record is believed.
        let (exchange, routing_key) = envelope::arrival(
            delivery.exchange.as_str(),
            delivery.routing_key.as_str(),
            &properties,
            true,
        );
        let message_id = properties
            .message_id()
            .as_ref()
            .map(|id| id.to_string())
            .filter(|id| !id.is_empty());
        let dead_lettered_at = last_retry(headers)
            .map(|at| (at, TimeSource::LastRetry))
            .or_else(|| {
                published_at(message_id.as_deref(), &properties)
                    .map(|at| (at, TimeSource::Published))
            });
        Self {
            queue: queue.clone(),
            reason: header_str(headers, envelope::ERROR).or_else(|| broker_reason(headers)),
            kind: header_str(headers, envelope::DEAD_LETTER_KIND),
            attempt: header_u32(headers, envelope::ATTEMPT),
            message_id,
            routing_key,
            exchange,
            dead_lettered_at,
            properties,
            payload: delivery.data,
            delivery_tag: delivery.delivery_tag,
        }
    }

    /// The message id, or `-` when it has none.
    pub fn id_or_dash(&self) -> &str {
        self.message_id.as_deref().unwrap_or("-")
    }

    /// Every header, as JSON (nested tables such as `x-death` as objects).
    pub fn headers_json(&self) -> Map<String, Value> {
        self.properties
            .headers()
            .as_ref()
            .map(table_json)
            .unwrap_or_default()
    }

    /// The AMQP properties other than the headers, as JSON; unset ones left out.
    pub fn properties_json(&self) -> Map<String, Value> {
        let p = &self.properties;
        let text = |value: &Option<lapin::types::ShortString>| {
            value.as_ref().map(|v| Value::from(v.as_str()))
        };
        let fields = [
            ("message_id", text(p.message_id())),
            ("correlation_id", text(p.correlation_id())),
            ("type", text(p.kind())),
            ("app_id", text(p.app_id())),
            ("content_type", text(p.content_type())),
            ("content_encoding", text(p.content_encoding())),
            ("user_id", text(p.user_id())),
            ("reply_to", text(p.reply_to())),
            ("expiration", text(p.expiration())),
            ("timestamp", p.timestamp().map(timestamp_json)),
            ("delivery_mode", p.delivery_mode().map(Value::from)),
            ("priority", p.priority().map(Value::from)),
        ];
        fields
            .into_iter()
            .filter_map(|(name, value)| Some((name.to_owned(), value?)))
            .collect()
    }

    /// The payload: the JSON value when it is JSON, else its text (invalid UTF-8 replaced).
    pub fn payload_json(&self) -> Result<Value, String> {
        serde_json::from_slice(&self.payload)
            .map_err(|_| String::from_utf8_lossy(&self.payload).into_owned())
    }

    /// A short description for lists and the audit log: id, routing key, reason.
    pub fn summary(&self) -> Summary {
        Summary {
            message_id: self.message_id.clone(),
            routing_key: self.routing_key.clone(),
            reason: self.reason.clone(),
        }
    }
}

/// A dead letter in a few words.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Summary {
    pub message_id: Option<String>,
    pub routing_key: String,
    pub reason: Option<String>,
}

/// The latest `time` among the `x-death` entries the broker added on each way out of a retry
/// queue.
fn last_retry(headers: Option<&FieldTable>) -> Option<DateTime<Utc>> {
    let AMQPValue::FieldArray(deaths) = headers?.inner().get("x-death")? else {
        return None;
    };
    deaths
        .as_slice()
        .iter()
        .filter_map(|death| match death {
            AMQPValue::FieldTable(death) => match death.inner().get("time")? {
                AMQPValue::Timestamp(seconds) => seconds_time(*seconds),
                _ => None,
            },
            _ => None,
        })
        .max()
}

/// Why the broker itself dead-lettered a message the bus never parked (no `x-error`): a quorum
/// queue's delivery limit (`bus.quorum.delivery_limit`), from its `x-death` entry for a queue
/// that is not a retry queue.
fn broker_reason(headers: Option<&FieldTable>) -> Option<String> {
    let AMQPValue::FieldArray(deaths) = headers?.inner().get("x-death")? else {
        return None;
    };
    deaths.as_slice().iter().find_map(|death| {
        let AMQPValue::FieldTable(death) = death else {
            return None;
        };
        let field = |key: &str| match death.inner().get(key)? {
            AMQPValue::LongString(text) => {
                Some(String::from_utf8_lossy(text.as_bytes()).into_owned())
            }
            _ => None,
        };
        let queue = field("queue").filter(|queue| !queue.contains(".retry."))?;
        Some(match field("reason")?.as_str() {
            "delivery_limit" => format!(
                "delivered past `{queue}`'s delivery limit without an outcome \
                 (each instance that took it died or lost its link): dead-lettered by the broker"
            ),
            other => format!("dead-lettered by the broker from `{queue}`: {other}"),
        })
    })
}

/// When the message was published: the time inside a UUID v7 id, else the AMQP timestamp.
fn published_at(message_id: Option<&str>, properties: &BasicProperties) -> Option<DateTime<Utc>> {
    let from_id = message_id
        .and_then(|id| uuid::Uuid::parse_str(id).ok())
        .filter(|id| id.get_version_num() == 7)
        .and_then(|id| id.get_timestamp())
        .and_then(|timestamp| {
            let (seconds, nanos) = timestamp.to_unix();
            DateTime::from_timestamp(i64::try_from(seconds).ok()?, nanos)
        });
    from_id.or_else(|| properties.timestamp().and_then(seconds_time))
}

fn seconds_time(seconds: u64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(i64::try_from(seconds).ok()?, 0)
}

fn timestamp_json(seconds: u64) -> Value {
    match seconds_time(seconds) {
        Some(time) => Value::from(time.to_rfc3339()),
        None => Value::from(seconds),
    }
}

fn table_json(table: &FieldTable) -> Map<String, Value> {
    table
        .inner()
        .iter()
        .map(|(key, value)| (key.as_str().to_owned(), value_json(value)))
        .collect()
}

/// An AMQP field value as JSON: strings as text (invalid UTF-8 replaced), timestamps as RFC 3339,
/// byte arrays as lists of numbers.
fn value_json(value: &AMQPValue) -> Value {
    match value {
        AMQPValue::Boolean(v) => json!(v),
        AMQPValue::ShortShortInt(v) => json!(v),
        AMQPValue::ShortShortUInt(v) => json!(v),
        AMQPValue::ShortInt(v) => json!(v),
        AMQPValue::ShortUInt(v) => json!(v),
        AMQPValue::LongInt(v) => json!(v),
        AMQPValue::LongUInt(v) => json!(v),
        AMQPValue::LongLongInt(v) => json!(v),
        AMQPValue::Float(v) => json!(v),
        AMQPValue::Double(v) => json!(v),
        AMQPValue::DecimalValue(v) => json!({"scale": v.scale, "value": v.value}),
        AMQPValue::ShortString(v) => json!(v.as_str()),
        AMQPValue::LongString(v) => json!(String::from_utf8_lossy(v.as_bytes())),
        AMQPValue::FieldArray(values) => {
            Value::Array(values.as_slice().iter().map(value_json).collect())
        }
        AMQPValue::Timestamp(seconds) => timestamp_json(*seconds),
        AMQPValue::FieldTable(table) => Value::Object(table_json(table)),
        AMQPValue::ByteArray(bytes) => json!(bytes.as_slice()),
        AMQPValue::Void => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use lapin::types::{FieldArray, LongString};

    use super::*;

    fn text(value: &str) -> AMQPValue {
        AMQPValue::LongString(LongString::from(value.as_bytes().to_vec()))
    }

    #[test]
    fn only_service_dot_dead_names_a_dead_letter_queue() {
        let billing = DeadLetterQueue::parse("billing.dead").unwrap();
        assert_eq!(billing.name(), "billing.dead");
        assert_eq!(billing.service_queue(), "billing");
        for other in [
            "billing",
            ".dead",
            "billing.dead.dead",
            "billing.retry.1000ms",
            "billing.retry.1000ms.dead",
        ] {
            assert!(DeadLetterQueue::parse(other).is_err(), "{other}");
        }
    }

    #[test]
    fn a_queue_argument_is_the_dead_letter_queue_or_its_service() {
        let given: DeadLetterQueue = "billing".parse().unwrap();
        assert_eq!(given.name(), "billing.queue.dead");
        assert_eq!(given.service_queue(), "billing.queue");
        let given: DeadLetterQueue = "billing.queue".parse().unwrap();
        assert_eq!(given.name(), "billing.queue.dead");
        let given: DeadLetterQueue = "billing.dead".parse().unwrap();
        assert_eq!(given.name(), "billing.dead");
        let refused = "billing.retry.50ms".parse::<DeadLetterQueue>().unwrap_err();
        assert_eq!(
            refused.to_string(),
            "\"billing.retry.50ms\" is not a dead-letter queue: a dead-letter queue is \
             `<service>.dead` (or give the service's name)"
        );
    }

    #[test]
    fn the_time_is_the_last_retry_else_the_publication() {
        let mut first = FieldTable::default();
        first.insert("time".into(), AMQPValue::Timestamp(1_700_000_000));
        let mut second = FieldTable::default();
        second.insert("time".into(), AMQPValue::Timestamp(1_700_000_060));
        let mut headers = FieldTable::default();
        headers.insert(
            "x-death".into(),
            AMQPValue::FieldArray(FieldArray::from(vec![
                AMQPValue::FieldTable(second),
                AMQPValue::FieldTable(first),
            ])),
        );
        assert_eq!(
            last_retry(Some(&headers)).map(|t| t.timestamp()),
            Some(1_700_000_060)
        );

        let legacy = BasicProperties::default().with_timestamp(1_600_000_000);
        assert_eq!(
            published_at(Some("legacy-1"), &legacy).map(|t| t.timestamp()),
            Some(1_600_000_000)
        );
        let id = uuid::Uuid::now_v7().to_string();
        let from_id = published_at(Some(&id), &legacy).unwrap();
        assert!(
            (Utc::now() - from_id).num_seconds().abs() < 3600,
            "{from_id}"
        );
    }

    #[test]
    fn a_message_past_the_delivery_limit_is_explained_from_the_brokers_record() {
        let death = |queue: &str, reason: &str| {
            let mut death = FieldTable::default();
            death.insert("queue".into(), text(queue));
            death.insert("reason".into(), text(reason));
            AMQPValue::FieldTable(death)
        };
        let mut headers = FieldTable::default();
        headers.insert(
            "x-death".into(),
            AMQPValue::FieldArray(FieldArray::from(vec![
                death("billing.queue.retry.1000ms", "expired"),
                death("billing.queue", "delivery_limit"),
            ])),
        );
        let reason = broker_reason(Some(&headers)).expect("a reason");
        assert!(
            reason.contains("`billing.queue`'s delivery limit"),
            "{reason}"
        );

        let mut retried_only = FieldTable::default();
        retried_only.insert(
            "x-death".into(),
            AMQPValue::FieldArray(FieldArray::from(vec![death(
                "billing.queue.retry.1000ms",
                "expired",
            )])),
        );
        assert_eq!(broker_reason(Some(&retried_only)), None);
    }

    #[test]
    fn headers_become_json_with_nested_tables_and_readable_times() {
        let mut death = FieldTable::default();
        death.insert("queue".into(), text("billing.retry.50ms"));
        death.insert("count".into(), AMQPValue::LongLongInt(1));
        death.insert("time".into(), AMQPValue::Timestamp(0));
        let mut headers = FieldTable::default();
        headers.insert(envelope::ERROR.into(), text("the ledger is closed"));
        headers.insert(envelope::ATTEMPT.into(), AMQPValue::LongLongInt(3));
        headers.insert(
            "x-death".into(),
            AMQPValue::FieldArray(FieldArray::from(vec![AMQPValue::FieldTable(death)])),
        );
        assert_eq!(
            Value::Object(table_json(&headers)),
            json!({
                "x-error": "the ledger is closed",
                "x-attempt": 3,
                "x-death": [{"queue": "billing.retry.50ms", "count": 1, "time": "1970-01-01T00:00:00+00:00"}],
            })
        );
    }
}
