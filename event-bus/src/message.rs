//! The envelope around a payload: identifiers, flow, cause and version, mapped to AMQP properties.
//!
//! Every message the bus publishes carries `message_id` (a UUID v7, unique), `correlation_id` (the
//! flow, e.g. the order id), `timestamp`, `content_type` `application/json`, `type` (the routing
//! key), `app_id` (the producing service), and headers for the causation id, the event version
//! and, on retries, the attempt number.

use chrono::{DateTime, Utc};
use lapin::{
    BasicProperties,
    types::{AMQPValue, FieldTable, LongString, ShortString},
};
use uuid::Uuid;

use crate::{
    error::{Error, Result},
    event::Event,
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

/// A message ready to be published: what the outbox stores and the publisher sends.
#[derive(Debug, Clone, PartialEq)]
pub struct OutgoingMessage {
    pub message_id: Uuid,
    pub exchange: String,
    pub routing_key: String,
    pub version: u32,
    pub correlation_id: String,
    pub causation_id: Option<String>,
    pub timestamp: DateTime<Utc>,
    /// JSON bytes of the payload.
    pub payload: Vec<u8>,
    /// The W3C trace context of this hop, when the work that caused it had one.
    pub traceparent: Option<String>,
}

impl OutgoingMessage {
    /// Encodes `event` as the start of (or a step in) the flow named `correlation_id`.
    pub fn new<E: Event>(
        event: &E,
        correlation_id: impl Into<String>,
        causation_id: Option<String>,
    ) -> Result<Self> {
        let payload = serde_json::to_vec(event).map_err(|source| Error::Encode {
            routing_key: E::ROUTING_KEY.to_owned(),
            source,
        })?;
        Ok(Self {
            message_id: Uuid::now_v7(),
            exchange: E::EXCHANGE.to_owned(),
            routing_key: E::ROUTING_KEY.to_owned(),
            version: E::VERSION,
            correlation_id: correlation_id.into(),
            causation_id,
            timestamp: Utc::now(),
            payload,
            traceparent: TraceContext::current().map(|context| context.child().to_string()),
        })
    }

    /// The AMQP properties of this message, published by `app_id`.
    pub(crate) fn properties(&self, app_id: &str) -> BasicProperties {
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
        BasicProperties::default()
            .with_message_id(self.message_id.to_string().into())
            .with_correlation_id(self.correlation_id.as_str().into())
            .with_timestamp(self.timestamp.timestamp().max(0) as u64)
            .with_content_type("application/json".into())
            .with_type(self.routing_key.as_str().into())
            .with_app_id(app_id.into())
            .with_delivery_mode(2)
            .with_headers(headers)
    }
}

/// What a handler knows about the message it handles.
#[derive(Debug, Clone, PartialEq)]
pub struct Metadata {
    pub message_id: String,
    pub routing_key: String,
    pub version: u32,
    pub correlation_id: Option<String>,
    pub causation_id: Option<String>,
    /// The producing service (`app_id`).
    pub producer: Option<String>,
    pub timestamp: Option<DateTime<Utc>>,
    /// 1 on the first delivery to a handler, then one more per retry.
    pub attempt: u32,
    /// The trace this handling belongs to (the message's own, or a new one).
    pub trace: TraceContext,
}

impl Metadata {
    /// The correlation id to give what this message causes: its own, or its id when it has none.
    pub fn flow_id(&self) -> &str {
        self.correlation_id.as_deref().unwrap_or(&self.message_id)
    }
}

pub(crate) fn long_string(value: &str) -> AMQPValue {
    AMQPValue::LongString(LongString::from(value.as_bytes().to_vec()))
}

/// Reads a string header, whichever AMQP string type the producer used.
pub(crate) fn header_str(headers: Option<&FieldTable>, key: &str) -> Option<String> {
    match headers?.inner().get(&ShortString::from(key))? {
        AMQPValue::LongString(value) => {
            Some(String::from_utf8_lossy(value.as_bytes()).into_owned())
        }
        AMQPValue::ShortString(value) => Some(value.as_str().to_owned()),
        _ => None,
    }
}

/// Reads an integer header, whichever AMQP integer type the producer used.
pub(crate) fn header_u32(headers: Option<&FieldTable>, key: &str) -> Option<u32> {
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
