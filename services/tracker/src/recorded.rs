//! What the tracker keeps of a message: the bus's own [`Envelope`] (decoded by the bus, stored
//! whole), its payload, and what the tracker derives from them (the order it belongs to, when it
//! happened).

use chrono::{DateTime, Utc};
use event_bus::{Envelope, event::RoutingKey};
use uuid::Uuid;

/// One message as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedEvent {
    pub envelope: Envelope,
    /// The correlation id when it is a UUID: the order the event belongs to.
    pub flow_id: Option<Uuid>,
    /// When the producer created it (the envelope's time), or when the tracker received it.
    pub occurred_at: DateTime<Utc>,
    pub payload: serde_json::Value,
}

impl RecordedEvent {
    /// Keeps a message; `received_at` stands in for a creation time the envelope does not carry.
    pub fn from_message(
        envelope: Envelope,
        payload: serde_json::Value,
        received_at: DateTime<Utc>,
    ) -> Self {
        let flow_id = envelope
            .correlation_id
            .as_deref()
            .and_then(|id| Uuid::parse_str(id).ok());
        Self {
            flow_id,
            occurred_at: envelope.timestamp.unwrap_or(received_at),
            envelope,
            payload,
        }
    }

    /// Whether this event undoes an earlier one (see [`contracts::catalog::compensations`]).
    pub fn is_compensation(&self) -> bool {
        contracts::catalog::is_compensation(&self.envelope.exchange, &event_name(&self.envelope))
    }
}

/// The event's name within its exchange; a foreign producer's key is kept whole.
pub fn event_name(envelope: &Envelope) -> String {
    RoutingKey::parse(&envelope.routing_key)
        .map(|key| key.name.to_owned())
        .unwrap_or_else(|_| envelope.routing_key.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope(routing_key: &str, timestamp: Option<DateTime<Utc>>) -> Envelope {
        Envelope {
            message_id: Uuid::now_v7().to_string(),
            exchange: routing_key.split('.').next().unwrap_or_default().into(),
            routing_key: routing_key.into(),
            version: 2,
            correlation_id: Some("0196f0a2-5b1e-7c3d-8e4f-a1b2c3d4e5f6".into()),
            causation_id: None,
            producer: Some("order".into()),
            sender: None,
            timestamp,
            traceparent: None,
            attempt: 1,
        }
    }

    #[test]
    fn a_bus_message_is_kept_with_its_order_and_time() {
        let at = DateTime::from_timestamp(1_700_000_000, 0);
        let event = RecordedEvent::from_message(
            envelope("order.v2.submit", at),
            serde_json::json!({"order_id": 1}),
            DateTime::UNIX_EPOCH,
        );
        assert_eq!(event_name(&event.envelope), "submit");
        assert_eq!(
            event.flow_id.map(|id| id.to_string()).as_deref(),
            Some("0196f0a2-5b1e-7c3d-8e4f-a1b2c3d4e5f6")
        );
        assert_eq!(Some(event.occurred_at), at);
        assert!(!event.is_compensation());
    }

    #[test]
    fn a_foreign_key_and_a_non_uuid_flow_are_kept_as_they_are() {
        let mut envelope = envelope("weird-key", None);
        envelope.correlation_id = Some("test-flow".into());
        let received = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let event = RecordedEvent::from_message(envelope, serde_json::Value::Null, received);
        assert_eq!(event_name(&event.envelope), "weird-key");
        assert_eq!(event.flow_id, None);
        assert_eq!(event.occurred_at, received);
    }

    #[test]
    fn refunds_are_compensations() {
        let event = RecordedEvent::from_message(
            envelope("billing.v1.refunded", None),
            serde_json::Value::Null,
            Utc::now(),
        );
        assert!(event.is_compensation());
    }
}
