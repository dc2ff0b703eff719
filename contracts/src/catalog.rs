//! Every event of the flow in one list, read from the [`Event`] impls so it cannot drift from
//! them, and every subscription: which service binds which pattern on which exchange. Together
//! they feed generated documentation (AsyncAPI), tell a flow tracker who receives what, and let
//! tests check the whole set, e.g. that no two events share a routing key.

use std::{collections::BTreeSet, time::Duration};

use event_bus::{
    BusSettings, Event,
    event::binding_pattern,
    topology::{Binding, Topology, service_queue},
};

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
    /// Whether it may be published while no queue is bound to it (`Event::MAY_GO_UNHEARD`).
    pub may_go_unheard: bool,
}

/// The descriptor of `E`, published by `producer`.
pub fn info<E: Event>(producer: &'static str) -> EventInfo {
    EventInfo {
        exchange: E::EXCHANGE,
        name: E::NAME,
        version: E::VERSION,
        routing_key: E::ROUTING_KEY,
        producer,
        may_go_unheard: E::MAY_GO_UNHEARD,
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

/// One binding of a subscriber's queue: what the service receives from an exchange.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Subscription {
    /// The subscribing service; its queue is `<service>.queue` (`event_bus::topology::service_queue`).
    pub service: &'static str,
    /// The topic exchange the queue is bound to.
    pub exchange: &'static str,
    /// The binding pattern: `<exchange>.*.<name>` for a typed handler (every version of the
    /// event), `#` for an observer of the whole exchange.
    pub pattern: String,
}

impl Subscription {
    /// Whether a message published on `exchange` with `routing_key` reaches this queue.
    pub fn receives(&self, exchange: &str, routing_key: &str) -> bool {
        self.exchange == exchange && topic_matches(&self.pattern, routing_key)
    }
}

/// `service` handles every version of `E` (`EventBus::on::<E, _>`).
pub fn binds<E: Event>(service: &'static str) -> Subscription {
    Subscription {
        service,
        exchange: E::EXCHANGE,
        pattern: binding_pattern::<E>(),
    }
}

/// `service` records everything published on `exchange` (`EventBus::observe`).
pub fn observes(service: &'static str, exchange: &'static str) -> Subscription {
    Subscription {
        service,
        exchange,
        pattern: "#".to_owned(),
    }
}

/// The service that records every event of every exchange (`services/tracker`).
pub const TRACKER: &str = "tracker";

/// Every subscription of every service, as wired in each service's `startup::wiring`. The README's
/// table of the flow says the same for people; this is the copy programs read (the AsyncAPI
/// document, the tracker). `services/flow-tests/tests/flow/wiring.rs` starts each service and
/// fails when its declared bindings or publications differ from this list and [`all`].
pub fn subscriptions() -> Vec<Subscription> {
    vec![
        binds::<billing::PaymentCharged>("order"),
        binds::<billing::PaymentDeclined>("order"),
        binds::<logistics::StockReserved>("order"),
        binds::<logistics::OutOfStock>("order"),
        binds::<logistics::OrderShipped>("order"),
        binds::<order::OrderSubmitted>("billing"),
        binds::<order::OrderCancelled>("billing"),
        binds::<order::OrderSubmitted>("logistics"),
        binds::<order::OrderCancelled>("logistics"),
        binds::<order::OrderConfirmed>("logistics"),
        binds::<order::OrderConfirmed>("mailer"),
        binds::<order::OrderCancelled>("mailer"),
        binds::<logistics::OrderShipped>("mailer"),
        // A subscriber added later, touching no producer (`services/loyalty`).
        binds::<order::OrderConfirmed>("loyalty"),
        observes(TRACKER, order::EXCHANGE),
        observes(TRACKER, billing::EXCHANGE),
        observes(TRACKER, logistics::EXCHANGE),
        observes(TRACKER, mailer::EXCHANGE),
    ]
}

/// The services whose queues receive `routing_key` published on `exchange`, each once, in the
/// order of [`subscriptions`].
pub fn subscribers(exchange: &str, routing_key: &str) -> Vec<&'static str> {
    let mut services = Vec::new();
    for subscription in subscriptions() {
        if subscription.receives(exchange, routing_key) && !services.contains(&subscription.service)
        {
            services.push(subscription.service);
        }
    }
    services
}

/// Every service of the shop, producers and subscribers, each once, in the order of [`all`]
/// then [`subscriptions`].
pub fn services() -> Vec<&'static str> {
    let mut services = Vec::new();
    let named = all()
        .into_iter()
        .map(|event| event.producer)
        .chain(subscriptions().into_iter().map(|s| s.service));
    for service in named {
        if !services.contains(&service) {
            services.push(service);
        }
    }
    services
}

/// What `service` declares on the broker, as the catalog says: its exchanges, its queue and
/// bindings, and the events it publishes (older versions included). Queue type and retry delays
/// are settings, given here as the bus's defaults; what a user may do depends on neither
/// ([`event_bus::permissions::Permissions::of`]). `services/flow-tests/tests/flow/wiring.rs`
/// checks that each real service's topology grants the same permissions.
pub fn topology(service: &str) -> Topology {
    let published: Vec<EventInfo> = all()
        .into_iter()
        .filter(|event| event.producer == service)
        .collect();
    let mut bindings: Vec<Binding> = subscriptions()
        .into_iter()
        .filter(|subscription| subscription.service == service)
        .map(|subscription| Binding {
            exchange: subscription.exchange.to_owned(),
            pattern: subscription.pattern,
        })
        .collect();
    bindings.sort_by(|a, b| (&a.exchange, &a.pattern).cmp(&(&b.exchange, &b.pattern)));
    let own_exchanges: BTreeSet<String> = published
        .iter()
        .map(|event| event.exchange.to_owned())
        .collect();
    let exchanges: BTreeSet<String> = own_exchanges
        .iter()
        .cloned()
        .chain(bindings.iter().map(|binding| binding.exchange.clone()))
        .collect();
    let defaults = BusSettings::for_service(service);
    Topology {
        exchanges: exchanges.into_iter().collect(),
        own_exchanges: own_exchanges.into_iter().collect(),
        queue: (!bindings.is_empty()).then(|| service_queue(service)),
        bindings,
        publications: published
            .iter()
            .map(|event| event.routing_key.to_owned())
            .collect(),
        queue_type: defaults.queue_type,
        quorum: defaults.quorum,
        retry_delays: defaults
            .retry_delays_ms
            .iter()
            .map(|ms| Duration::from_millis(*ms))
            .collect(),
    }
}

/// The events that undo what an earlier one did: an order cancelled, a charge refunded, a
/// reservation released. Every version of their family counts.
pub fn compensations() -> Vec<EventInfo> {
    vec![
        info::<order::OrderCancelled>("order"),
        info::<billing::PaymentRefunded>("billing"),
        info::<logistics::StockReleased>("logistics"),
    ]
}

/// Whether the event named `name` on `exchange` (any version) is a compensation.
pub fn is_compensation(exchange: &str, name: &str) -> bool {
    compensations()
        .iter()
        .any(|event| event.exchange == exchange && event.name == name)
}

/// AMQP topic matching: words are separated by dots, `*` matches exactly one word and `#` zero
/// or more.
pub fn topic_matches(pattern: &str, routing_key: &str) -> bool {
    fn matches(pattern: &[&str], key: &[&str]) -> bool {
        match (pattern.split_first(), key.split_first()) {
            (None, None) => true,
            (Some((&"#", rest)), _) => {
                matches(rest, key) || (!key.is_empty() && matches(pattern, &key[1..]))
            }
            (Some((&"*", rest)), Some((_, key_rest))) => matches(rest, key_rest),
            (Some((word, rest)), Some((key_word, key_rest))) => {
                word == key_word && matches(rest, key_rest)
            }
            _ => false,
        }
    }
    let pattern: Vec<&str> = pattern.split('.').collect();
    let key: Vec<&str> = routing_key.split('.').collect();
    matches(&pattern, &key)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use event_bus::event::RoutingKey;

    use super::*;

    #[test]
    fn an_event_may_go_unheard_exactly_when_no_service_but_the_tracker_binds_it() {
        for event in all() {
            let heard_by: Vec<_> = subscribers(event.exchange, event.routing_key)
                .into_iter()
                .filter(|service| *service != TRACKER)
                .collect();
            assert_eq!(
                event.may_go_unheard,
                heard_by.is_empty(),
                "{} is bound by {heard_by:?} but declared may_go_unheard = {}",
                event.routing_key,
                event.may_go_unheard
            );
        }
    }

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

    #[test]
    fn topic_patterns_match_like_rabbitmq() {
        assert!(topic_matches("order.*.submit", "order.v2.submit"));
        assert!(!topic_matches("order.*.submit", "order.v2.confirmed"));
        assert!(!topic_matches("order.*", "order.v2.submit"));
        assert!(topic_matches("#", "order.v2.submit"));
        assert!(topic_matches("order.#", "order.v2.submit"));
        assert!(topic_matches("order.#", "order"));
        assert!(topic_matches("#.submit", "order.v1.submit"));
        assert!(topic_matches("order.#.submit", "order.submit"));
        assert!(!topic_matches("billing.#", "order.v2.submit"));
    }

    #[test]
    fn every_subscription_receives_at_least_one_event() {
        let events = all();
        for subscription in subscriptions() {
            assert!(
                events
                    .iter()
                    .any(|e| subscription.receives(e.exchange, e.routing_key)),
                "{subscription:?} receives nothing"
            );
        }
    }

    #[test]
    fn submits_reach_billing_logistics_and_the_tracker_in_every_version() {
        for key in ["order.v1.submit", "order.v2.submit"] {
            assert_eq!(subscribers("order", key), ["billing", "logistics", TRACKER]);
        }
        assert_eq!(
            subscribers("order", "order.v1.confirmed"),
            ["logistics", "mailer", "loyalty", TRACKER]
        );
        assert_eq!(
            subscribers("logistics", "logistics.v1.replenishment_requested"),
            [TRACKER]
        );
    }

    #[test]
    fn the_tracker_observes_every_exchange() {
        for event in all() {
            assert!(subscribers(event.exchange, event.routing_key).contains(&TRACKER));
        }
    }

    #[test]
    fn cancellations_refunds_and_releases_are_compensations() {
        assert!(is_compensation("order", "cancelled"));
        assert!(is_compensation("billing", "refunded"));
        assert!(is_compensation("logistics", "released"));
        assert!(!is_compensation("order", "confirmed"));
        assert!(!is_compensation("billing", "charged"));
    }
}
