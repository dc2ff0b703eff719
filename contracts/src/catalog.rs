//! Every event of the flow in one list, read from the [`Event`] impls so it cannot drift from
//! them. It feeds generated documentation (AsyncAPI) and lets tests check the whole set, e.g. that
//! no two events share a routing key.

use event_bus::Event;

use crate::{billing, logistics, mailer, order};

/// What the bus knows of one event: where it is published, under which key, by whom.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EventInfo {
    /// The topic exchange it is published on.
    pub exchange: &'static str,
    /// Its name within the exchange.
    pub name: &'static str,
    pub version: u32,
    /// `<exchange>.v<version>.<name>`.
    pub routing_key: &'static str,
    /// The service that publishes it.
    pub producer: &'static str,
}

/// The descriptor of `E`, published by `producer`.
pub fn info<E: Event>(producer: &'static str) -> EventInfo {
    EventInfo {
        exchange: E::EXCHANGE,
        name: E::NAME,
        version: E::VERSION,
        routing_key: E::ROUTING_KEY,
        producer,
    }
}

/// Every event, grouped by producer, older versions included (they may still be in flight).
pub fn all() -> Vec<EventInfo> {
    vec![
        info::<order::OrderSubmittedV1>("order"),
        info::<order::OrderSubmitted>("order"),
        info::<order::OrderConfirmed>("order"),
        info::<order::OrderCancelled>("order"),
        info::<billing::PaymentCharged>("billing"),
        info::<billing::PaymentDeclined>("billing"),
        info::<billing::PaymentRefunded>("billing"),
        info::<logistics::StockReserved>("logistics"),
        info::<logistics::OutOfStock>("logistics"),
        info::<logistics::StockReleased>("logistics"),
        info::<logistics::OrderShipped>("logistics"),
        info::<logistics::ReplenishmentRequested>("logistics"),
        info::<mailer::EmailSent>("mailer"),
    ]
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use event_bus::event::RoutingKey;

    use super::*;

    #[test]
    fn lists_every_event_once() {
        let all = all();
        assert_eq!(all.len(), 13);
        let keys: HashSet<_> = all.iter().map(|e| e.routing_key).collect();
        assert_eq!(keys.len(), all.len(), "duplicate routing key");
    }

    #[test]
    fn routing_keys_match_their_parts() {
        for event in all() {
            let key = RoutingKey::parse(event.routing_key).unwrap();
            assert_eq!(key.exchange, event.exchange);
            assert_eq!(key.name, event.name);
            assert_eq!(key.version, event.version);
            // Each service publishes only on its own exchange.
            assert_eq!(event.producer, event.exchange);
        }
    }

    #[test]
    fn producers_are_the_module_exchanges() {
        let producers: HashSet<_> = all().iter().map(|e| e.producer).collect();
        let exchanges = HashSet::from([
            order::EXCHANGE,
            billing::EXCHANGE,
            logistics::EXCHANGE,
            mailer::EXCHANGE,
        ]);
        assert_eq!(producers, exchanges);
    }
}
