//! What the tracker keeps of a message: its place on the bus, its ids and its payload, read from
//! the envelope every message of the bus carries.

use chrono::{DateTime, Utc};
use event_bus::{Metadata, event::RoutingKey};
use uuid::Uuid;

/// One message as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedEvent {
    pub message_id: String,
    pub routing_key: String,
    pub exchange: String,
    pub name: String,
    pub version: i32,
    pub producer: Option<String>,
    pub correlation_id: Option<String>,
    /// The correlation id when it is a UUID: the order the event belongs to.
    pub flow_id: Option<Uuid>,
    pub causation_id: Option<String>,
    pub occurred_at: DateTime<Utc>,
    pub payload: serde_json::Value,
}

/// The part of a message's [`Metadata`] the tracker keeps.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    pub message_id: String,
    pub routing_key: String,
    /// The `x-event-version` header, for a routing key that does not carry one.
    pub version: u32,
    pub correlation_id: Option<String>,
    pub causation_id: Option<String>,
    pub producer: Option<String>,
    /// The AMQP timestamp, in whole seconds.
    pub timestamp: Option<DateTime<Utc>>,
}

impl From<&Metadata> for Envelope {
    fn from(metadata: &Metadata) -> Self {
        Self {
            message_id: metadata.message_id.clone(),
            routing_key: metadata.routing_key.clone(),
            version: metadata.version,
            correlation_id: metadata.correlation_id.clone(),
            causation_id: metadata.causation_id.clone(),
            producer: metadata.producer.clone(),
            timestamp: metadata.timestamp,
        }
    }
}

impl RecordedEvent {
    /// Reads the envelope of a message that arrived on `exchange`; `received_at` stands in for a
    /// creation time the message does not carry.
    pub fn from_message(
        exchange: &str,
        metadata: &Envelope,
        payload: serde_json::Value,
        received_at: DateTime<Utc>,
    ) -> Self {
        let (name, version) = match RoutingKey::parse(&metadata.routing_key) {
            Ok(key) => (key.name.to_owned(), key.version),
            // A foreign producer's key: keep it whole as the name.
            Err(_) => (metadata.routing_key.clone(), metadata.version),
        };
        let flow_id = metadata
            .correlation_id
            .as_deref()
            .and_then(|id| Uuid::parse_str(id).ok());
        Self {
            message_id: metadata.message_id.clone(),
            routing_key: metadata.routing_key.clone(),
            exchange: exchange.to_owned(),
            name,
            version: i32::try_from(version).unwrap_or(i32::MAX),
            producer: metadata.producer.clone(),
            correlation_id: metadata.correlation_id.clone(),
            flow_id,
            causation_id: metadata.causation_id.clone(),
            occurred_at: created_at(metadata).unwrap_or(received_at),
            payload,
        }
    }

    /// Whether this event undoes an earlier one (see [`contracts::catalog::compensations`]).
    pub fn is_compensation(&self) -> bool {
        contracts::catalog::is_compensation(&self.exchange, &self.name)
    }
}

/// When the producer created the message: the millisecond time inside its UUID v7 id (the bus's
/// ids), else the AMQP timestamp, which has only whole seconds.
fn created_at(metadata: &Envelope) -> Option<DateTime<Utc>> {
    let from_id = Uuid::parse_str(&metadata.message_id)
        .ok()
        .filter(|id| id.get_version_num() == 7)
        .and_then(|id| id.get_timestamp())
        .and_then(|timestamp| {
            let (seconds, nanos) = timestamp.to_unix();
            DateTime::from_timestamp(i64::try_from(seconds).ok()?, nanos)
        });
    from_id.or(metadata.timestamp)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metadata(message_id: &str, routing_key: &str) -> Envelope {
        Envelope {
            message_id: message_id.into(),
            routing_key: routing_key.into(),
            version: 2,
            correlation_id: Some("0196f0a2-5b1e-7c3d-8e4f-a1b2c3d4e5f6".into()),
            causation_id: None,
            producer: Some("order".into()),
            timestamp: DateTime::from_timestamp(1_700_000_000, 0),
        }
    }

    #[test]
    fn a_bus_message_is_read_from_its_envelope() {
        let id = Uuid::now_v7();
        let before = Utc::now() - chrono::Duration::milliseconds(1);
        let event = RecordedEvent::from_message(
            "order",
            &metadata(&id.to_string(), "order.v2.submit"),
            serde_json::json!({"order_id": 1}),
            DateTime::UNIX_EPOCH,
        );
        assert_eq!(event.name, "submit");
        assert_eq!(event.version, 2);
        assert_eq!(event.exchange, "order");
        assert_eq!(event.producer.as_deref(), Some("order"));
        assert_eq!(
            event.flow_id.map(|id| id.to_string()).as_deref(),
            Some("0196f0a2-5b1e-7c3d-8e4f-a1b2c3d4e5f6")
        );
        // The time comes from the UUID v7 id, to the millisecond.
        assert!(event.occurred_at >= before && event.occurred_at <= Utc::now());
        assert!(!event.is_compensation());
    }

    #[test]
    fn without_a_v7_id_the_amqp_timestamp_is_the_time() {
        let event = RecordedEvent::from_message(
            "billing",
            &metadata("legacy-42", "billing.v1.refunded"),
            serde_json::Value::Null,
            Utc::now(),
        );
        assert_eq!(event.occurred_at.timestamp(), 1_700_000_000);
        assert!(event.is_compensation());
    }

    #[test]
    fn a_foreign_key_and_a_non_uuid_flow_are_kept_as_they_are() {
        let mut metadata = metadata("x", "weird-key");
        metadata.correlation_id = Some("test-flow".into());
        metadata.timestamp = None;
        let received = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let event =
            RecordedEvent::from_message("order", &metadata, serde_json::Value::Null, received);
        assert_eq!(event.name, "weird-key");
        assert_eq!(event.flow_id, None);
        assert_eq!(event.occurred_at, received);
    }
}
