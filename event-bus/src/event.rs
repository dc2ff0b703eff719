//! Typed event descriptors.
//!
//! An [`Event`] ties a payload type to the exchange it is published on, its name and its version, so
//! the routing key (`<exchange>.v<version>.<name>`) is a property of the type: a producer cannot put
//! a payload on another event's key, because there is no string to get wrong.
//!
//! Subscribers bind the *family* of an event (`order.*.submit`) and always receive its newest type;
//! [`Event::decode`] turns an older version into the newest one (an upcast), and refuses a version it
//! does not know so that the message is dead-lettered instead of misread.

use serde::{Serialize, de::DeserializeOwned};

use crate::error::DecodeError;

/// A payload with its place on the bus: exchange, name and version.
///
/// Implement it with [`event!`](crate::event) (one version) or by hand when older versions must be
/// upcast in [`Event::decode`].
pub trait Event: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// The durable topic exchange of the producing service (`order`).
    const EXCHANGE: &'static str;
    /// The event's name within that exchange (`submit`). No dots.
    const NAME: &'static str;
    /// The schema version this type encodes (`2`).
    const VERSION: u32;
    /// `<exchange>.v<version>.<name>`; build it with [`routing_key!`](crate::routing_key).
    const ROUTING_KEY: &'static str;
    /// Whether it may be published while no queue is bound to it (a notification nobody needs,
    /// such as `mailer.v1.sent`). The outbox marks such an event published when the broker
    /// returns it unroutable; any other event stays pending and is published again, with growing
    /// pauses, until a subscriber's queue is bound: an event staged before its subscriber started,
    /// or after a queue was deleted, is not lost.
    const MAY_GO_UNHEARD: bool = false;

    /// Decodes a payload published as `version` of this event into this (the newest) type.
    ///
    /// The default knows only [`Self::VERSION`]. Types with older versions override it and upcast.
    fn decode(version: u32, payload: &[u8]) -> Result<Self, DecodeError> {
        if version == Self::VERSION {
            decode_json(payload)
        } else {
            Err(DecodeError::UnknownVersion {
                event: family::<Self>(),
                version,
            })
        }
    }
}

/// Parses a JSON payload into `T`, mapping the failure to a dead-letter reason.
pub fn decode_json<T: DeserializeOwned>(payload: &[u8]) -> Result<T, DecodeError> {
    serde_json::from_slice(payload).map_err(|error| DecodeError::Malformed(error.to_string()))
}

/// The binding pattern that catches every version of `E`: `<exchange>.*.<name>`.
pub fn binding_pattern<E: Event>() -> String {
    format!("{}.*.{}", E::EXCHANGE, E::NAME)
}

/// `exchange.name`, how logs and dead-letter reasons name an event regardless of version.
pub fn family<E: Event>() -> String {
    format!("{}.{}", E::EXCHANGE, E::NAME)
}

/// Builds a routing key at compile time: `routing_key!("order", "submit", 2)` is `"order.v2.submit"`.
#[macro_export]
macro_rules! routing_key {
    ($exchange:literal, $name:literal, $version:literal) => {
        concat!($exchange, ".v", $version, ".", $name)
    };
}

/// Declares a single-version event:
///
/// ```
/// #[derive(serde::Serialize, serde::Deserialize)]
/// struct Shipped { order_id: String }
/// event_bus::event!(Shipped, exchange = "logistics", name = "shipped", version = 1);
/// assert_eq!(<Shipped as event_bus::Event>::ROUTING_KEY, "logistics.v1.shipped");
///
/// #[derive(serde::Serialize, serde::Deserialize)]
/// struct Sent { order_id: String }
/// event_bus::event!(Sent, exchange = "mailer", name = "sent", version = 1, may_go_unheard);
/// assert!(<Sent as event_bus::Event>::MAY_GO_UNHEARD);
/// ```
#[macro_export]
macro_rules! event {
    ($type:ty, exchange = $exchange:literal, name = $name:literal, version = $version:literal) => {
        impl $crate::Event for $type {
            const EXCHANGE: &'static str = $exchange;
            const NAME: &'static str = $name;
            const VERSION: u32 = $version;
            const ROUTING_KEY: &'static str = $crate::routing_key!($exchange, $name, $version);
        }
    };
    ($type:ty, exchange = $exchange:literal, name = $name:literal, version = $version:literal, may_go_unheard) => {
        impl $crate::Event for $type {
            const EXCHANGE: &'static str = $exchange;
            const NAME: &'static str = $name;
            const VERSION: u32 = $version;
            const ROUTING_KEY: &'static str = $crate::routing_key!($exchange, $name, $version);
            const MAY_GO_UNHEARD: bool = true;
        }
    };
}

/// A routing key taken apart: `order.v2.submit` is exchange `order`, version 2, name `submit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoutingKey<'a> {
    pub exchange: &'a str,
    pub version: u32,
    pub name: &'a str,
}

impl<'a> RoutingKey<'a> {
    /// Parses `<exchange>.v<version>.<name>`; anything else is not an event of this bus.
    pub fn parse(key: &'a str) -> Result<Self, DecodeError> {
        let invalid = || DecodeError::InvalidRoutingKey(key.to_owned());
        let mut parts = key.split('.');
        let (Some(exchange), Some(version), Some(name), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid());
        };
        let version = version
            .strip_prefix('v')
            .and_then(|digits| digits.parse::<u32>().ok())
            .ok_or_else(invalid)?;
        if exchange.is_empty() || name.is_empty() {
            return Err(invalid());
        }
        Ok(Self {
            exchange,
            version,
            name,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    struct Ping {
        n: u32,
    }
    crate::event!(Ping, exchange = "test", name = "ping", version = 3);

    #[test]
    fn routing_key_is_built_from_the_descriptor() {
        assert_eq!(Ping::ROUTING_KEY, "test.v3.ping");
        assert_eq!(binding_pattern::<Ping>(), "test.*.ping");
    }

    #[test]
    fn routing_keys_parse_into_their_parts() {
        let key = RoutingKey::parse("order.v12.out_of_stock").unwrap();
        assert_eq!(
            key,
            RoutingKey {
                exchange: "order",
                version: 12,
                name: "out_of_stock"
            }
        );
        for bad in [
            "order",
            "order.submit",
            "order.x1.submit",
            "order.v1.submit.x",
            ".v1.x",
            "a.v.b",
        ] {
            assert!(RoutingKey::parse(bad).is_err(), "{bad} should not parse");
        }
    }

    #[test]
    fn default_decode_refuses_other_versions() {
        assert_eq!(Ping::decode(3, br#"{"n":1}"#).unwrap(), Ping { n: 1 });
        assert!(matches!(
            Ping::decode(4, br#"{"n":1}"#),
            Err(DecodeError::UnknownVersion { version: 4, .. })
        ));
        assert!(matches!(
            Ping::decode(3, b"garbage"),
            Err(DecodeError::Malformed(_))
        ));
    }
}
