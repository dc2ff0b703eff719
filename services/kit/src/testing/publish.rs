//! How a test driver publishes: the properties of [`event_bus`]'s own messages, so that the
//! service under test cannot tell the driver from the producer it stands in for.

use std::time::{SystemTime, UNIX_EPOCH};

use event_bus::Event;
use lapin::BasicProperties;
use lapin::types::{AMQPValue, FieldTable};
use uuid::Uuid;

/// The `app_id` the driver publishes as.
pub const DRIVER_APP_ID: &str = "test-driver";

/// The properties the bus gives a message carrying an `E`: its message id, flow
/// (`correlation_id`), timestamp, JSON content type, `type` (the routing key), `app_id`,
/// persistent delivery, and the event version header.
pub fn properties<E: Event>(correlation_id: &str, message_id: Uuid) -> BasicProperties {
    let mut headers = FieldTable::default();
    headers.insert(
        event_bus::message::EVENT_VERSION.into(),
        AMQPValue::LongLongInt(i64::from(E::VERSION)),
    );
    BasicProperties::default()
        .with_message_id(message_id.to_string().into())
        .with_correlation_id(correlation_id.into())
        .with_timestamp(seconds_since_epoch())
        .with_content_type("application/json".into())
        .with_type(E::ROUTING_KEY.into())
        .with_app_id(DRIVER_APP_ID.into())
        .with_delivery_mode(2)
        .with_headers(headers)
}

/// The AMQP timestamp: whole seconds, as the bus writes it.
fn seconds_since_epoch() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

#[cfg(test)]
mod tests {
    use lapin::types::ShortString;
    use serde::{Deserialize, Serialize};

    use super::*;

    #[derive(Debug, Serialize, Deserialize)]
    struct Pinged {
        at: u32,
    }
    event_bus::event!(Pinged, exchange = "test", name = "pinged", version = 3);

    #[test]
    fn the_properties_name_the_message_its_flow_its_type_and_its_version() {
        let message_id = Uuid::now_v7();
        let properties = properties::<Pinged>("flow-1", message_id);
        assert_eq!(
            properties.message_id().as_ref().map(|id| id.as_str()),
            Some(message_id.to_string().as_str())
        );
        assert_eq!(
            properties.correlation_id().as_ref().map(|id| id.as_str()),
            Some("flow-1")
        );
        assert_eq!(
            properties.kind().as_ref().map(|kind| kind.as_str()),
            Some("test.v3.pinged")
        );
        assert_eq!(
            properties.app_id().as_ref().map(|id| id.as_str()),
            Some(DRIVER_APP_ID)
        );
        assert_eq!(*properties.delivery_mode(), Some(2));
        let version = properties.headers().as_ref().and_then(|headers| {
            headers
                .inner()
                .get(&ShortString::from(event_bus::message::EVENT_VERSION))
                .cloned()
        });
        assert_eq!(version, Some(AMQPValue::LongLongInt(3)));
    }
}
