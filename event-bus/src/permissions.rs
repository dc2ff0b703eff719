//! What a service's broker user may do, derived from its wiring.
//!
//! RabbitMQ grants a user, per vhost, three regular expressions over resource names (configure:
//! declare and delete; write: publish to an exchange, bind a queue; read: consume a queue, bind
//! from an exchange) and, per topic exchange, a regular expression over the routing keys it may
//! publish. A service's [`Topology`] says everything it touches, so its permissions follow:
//!
//! - **configure** its own queue, retry queues, dead-letter queue and retry exchange (`billing.queue`,
//!   `billing.queue.retry.<ms>ms`, `billing.queue.dead`, `billing.queue.retry`) and the exchanges it
//!   publishes on (`billing`);
//! - **write** the same: publishing on its exchanges and its retry path, binding its queues (which
//!   RabbitMQ counts as writing to the queue), and dead-lettering from its retry queues back
//!   through its retry exchange;
//! - **read** its own queues and retry exchange, and the exchanges it binds from (`order`);
//! - a **topic permission** on each exchange it publishes on, limiting it to that exchange's own
//!   routing keys (`^billing\.`).
//!
//! Nothing else: not the default exchange (through which any user allowed to write there puts a
//! message into any queue by name), not another service's queues or exchanges. A service's queue
//! is never named like an exchange (see [`crate::topology`]), or reading the exchange `order` would
//! also be reading a queue `order`.

use serde::Serialize;

use crate::topology::{Topology, dead_letter_queue, retry_exchange};

/// One user's permissions on one vhost.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Permissions {
    pub configure: String,
    pub write: String,
    pub read: String,
    /// One per exchange the user publishes on.
    pub topics: Vec<TopicPermission>,
}

/// What a user may publish and bind on one topic exchange.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TopicPermission {
    pub exchange: String,
    pub write: String,
    pub read: String,
}

/// A regular expression that matches none of the names: RabbitMQ's way to grant nothing.
pub const NOTHING: &str = "^$";

impl Permissions {
    /// Exactly what the service of `topology` needs (see the module docs).
    pub fn of(topology: &Topology) -> Self {
        let own_queues = topology.queue.as_deref().map(queue_family);
        let own_exchanges = topology.own_exchanges.iter().map(|name| literal(name));
        let mut bound_from: Vec<&str> = topology
            .bindings
            .iter()
            .map(|binding| binding.exchange.as_str())
            .collect();
        bound_from.sort_unstable();
        bound_from.dedup();
        let configure = any_of(own_queues.iter().cloned().chain(own_exchanges));
        let read = any_of(
            own_queues
                .iter()
                .cloned()
                .chain(bound_from.into_iter().map(literal)),
        );
        let topics = topology
            .own_exchanges
            .iter()
            .map(|exchange| TopicPermission {
                exchange: exchange.clone(),
                write: format!("^{}\\.", literal(exchange)),
                read: ".*".into(),
            })
            .collect();
        Self {
            write: configure.clone(),
            configure,
            read,
            topics,
        }
    }

    /// An operator's: read the dead-letter queues of `queues`, write their retry paths (a
    /// replay), nothing else; what listing, replaying and dropping dead letters takes.
    pub fn operator(queues: &[String]) -> Self {
        Self {
            configure: NOTHING.into(),
            write: any_of(queues.iter().map(|queue| literal(&retry_exchange(queue)))),
            read: any_of(
                queues
                    .iter()
                    .map(|queue| literal(&dead_letter_queue(queue))),
            ),
            topics: Vec::new(),
        }
    }
}

/// `^(a|b)$` for the alternatives, or [`NOTHING`].
fn any_of(alternatives: impl Iterator<Item = String>) -> String {
    let alternatives: Vec<String> = alternatives.collect();
    if alternatives.is_empty() {
        NOTHING.into()
    } else {
        format!("^({})$", alternatives.join("|"))
    }
}

/// The queue, its retry exchange and retry queues, and its dead-letter queue, as one
/// alternative.
fn queue_family(queue: &str) -> String {
    let retry = retry_exchange(queue);
    let dead = dead_letter_queue(queue);
    debug_assert!(retry.starts_with(queue) && dead.starts_with(queue));
    format!(
        "{}({}({})?|{})?",
        literal(queue),
        literal(&retry[queue.len()..]),
        r"\.[0-9]+ms",
        literal(&dead[queue.len()..]),
    )
}

/// `name` as a regular expression that matches only it.
fn literal(name: &str) -> String {
    let mut escaped = String::with_capacity(name.len());
    for c in name.chars() {
        if r"\.+*?()|[]{}^$-/".contains(c) {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::{settings::QueueType, topology::Binding};

    fn billing() -> Topology {
        Topology {
            exchanges: vec!["billing".into(), "order".into()],
            own_exchanges: vec!["billing".into()],
            queue: Some("billing.queue".into()),
            bindings: vec![
                Binding {
                    exchange: "order".into(),
                    pattern: "order.*.cancelled".into(),
                },
                Binding {
                    exchange: "order".into(),
                    pattern: "order.*.submit".into(),
                },
            ],
            publications: vec!["billing.v1.charged".into()],
            queue_type: QueueType::Classic,
            quorum: Default::default(),
            retry_delays: vec![Duration::from_secs(1)],
        }
    }

    #[test]
    fn a_service_may_touch_its_own_queues_and_exchange_and_read_what_it_binds() {
        let permissions = Permissions::of(&billing());
        assert_eq!(
            permissions.configure,
            r"^(billing\.queue(\.retry(\.[0-9]+ms)?|\.dead)?|billing)$"
        );
        assert_eq!(permissions.write, permissions.configure);
        assert_eq!(
            permissions.read,
            r"^(billing\.queue(\.retry(\.[0-9]+ms)?|\.dead)?|order)$"
        );
        assert_eq!(
            permissions.topics,
            vec![TopicPermission {
                exchange: "billing".into(),
                write: r"^billing\.".into(),
                read: ".*".into(),
            }]
        );
    }

    #[test]
    fn a_publisher_without_a_queue_reads_nothing() {
        let topology = Topology {
            queue: None,
            bindings: vec![],
            ..billing()
        };
        let permissions = Permissions::of(&topology);
        assert_eq!(permissions.read, NOTHING);
        assert_eq!(permissions.configure, "^(billing)$");
    }

    #[test]
    fn names_are_matched_literally() {
        assert_eq!(literal("a.b-c"), r"a\.b\-c");
    }
}
