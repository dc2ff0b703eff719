//! How a test driver publishes: with the bus's own envelope ([`Envelope::properties`]), so that
//! the service under test cannot tell the driver from the producer it stands in for.

use event_bus::{Envelope, Event};
use lapin::BasicProperties;
use uuid::Uuid;

/// The `app_id` the driver publishes as.
pub const DRIVER_APP_ID: &str = "test-driver";

/// The properties the bus gives a message carrying an `E` with id `message_id` in flow
/// `correlation_id`, published by [`DRIVER_APP_ID`].
pub fn properties<E: Event>(correlation_id: &str, message_id: Uuid) -> BasicProperties {
    let envelope = Envelope {
        message_id: message_id.to_string(),
        ..Envelope::new::<E>(correlation_id, None)
    };
    envelope.properties(DRIVER_APP_ID)
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    use super::*;

    #[derive(Debug, Serialize, Deserialize)]
    struct Pinged {
        at: u32,
    }
    event_bus::event!(Pinged, exchange = "test", name = "pinged", version = 3);

    #[test]
    fn the_driver_s_message_reads_as_the_bus_s_own() {
        let message_id = Uuid::now_v7();
        let properties = properties::<Pinged>("flow-1", message_id);
        let envelope =
            Envelope::decode("test", "test.v3.pinged", &properties, false).expect("decodes");
        assert_eq!(envelope.message_id, message_id.to_string());
        assert_eq!(envelope.correlation_id.as_deref(), Some("flow-1"));
        assert_eq!(envelope.version, 3);
        assert_eq!(envelope.producer.as_deref(), Some(DRIVER_APP_ID));
        assert_eq!(*properties.delivery_mode(), Some(2));
    }
}
