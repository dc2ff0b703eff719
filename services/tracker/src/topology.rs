//! The live topology of the bus, as the page draws it: exchanges → bindings → queues → the
//! services consuming from them. Assembled from a management API [`Snapshot`]; pure, so its
//! rules are tested without a broker.

use std::collections::HashMap;

use serde::Serialize;

use crate::management::Snapshot;

/// The answer of `GET /topology`.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Topology {
    pub vhost: String,
    /// The services' topic exchanges (the default exchange, `amq.*` and the services' own retry
    /// paths, `<queue>.retry`, left out: the page draws the flow between services).
    pub exchanges: Vec<Exchange>,
    /// Bindings from those exchanges to queues.
    pub bindings: Vec<Binding>,
    /// Every queue of the vhost, bound ones first.
    pub queues: Vec<Queue>,
    /// Every service consuming from a queue, by the name of its connection.
    pub services: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Exchange {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub durable: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Binding {
    pub exchange: String,
    pub queue: String,
    pub pattern: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Queue {
    pub name: String,
    /// `service` for a service's queue, `retry` for a delay queue, `dead` for dead letters.
    pub role: QueueRole,
    /// Messages ready or unacked; `null` before the broker's first statistics round.
    pub messages: Option<u64>,
    pub consumers: usize,
    /// The services consuming from it, by connection name, each once.
    pub services: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum QueueRole {
    Service,
    Retry,
    Dead,
}

impl QueueRole {
    /// Read from the bus's naming: `<queue>.retry.<ms>ms`, `<queue>.dead`.
    fn of(name: &str) -> Self {
        if name.ends_with(".dead") {
            Self::Dead
        } else if name.contains(".retry.") {
            Self::Retry
        } else {
            Self::Service
        }
    }
}

/// Assembles the topology of `vhost` from what the management API said.
pub fn assemble(vhost: &str, snapshot: Snapshot) -> Topology {
    let mut exchanges: Vec<Exchange> = snapshot
        .exchanges
        .into_iter()
        .filter(|e| !e.name.is_empty() && !e.name.starts_with("amq."))
        .filter(|e| e.kind == "topic")
        .map(|e| Exchange {
            name: e.name,
            kind: e.kind,
            durable: e.durable,
        })
        .collect();
    exchanges.sort_by(|a, b| a.name.cmp(&b.name));

    let mut bindings: Vec<Binding> = snapshot
        .bindings
        .into_iter()
        .filter(|b| b.destination_type == "queue")
        .filter(|b| exchanges.iter().any(|e| e.name == b.source))
        .map(|b| Binding {
            exchange: b.source,
            queue: b.destination,
            pattern: b.routing_key,
        })
        .collect();
    bindings.sort_by(|a, b| {
        (&a.exchange, &a.queue, &a.pattern).cmp(&(&b.exchange, &b.queue, &b.pattern))
    });

    let client_names: HashMap<String, String> = snapshot
        .connections
        .into_iter()
        .filter_map(|c| Some((c.name, c.client_properties.connection_name?)))
        .collect();
    let mut consumers_of: HashMap<String, (usize, Vec<String>)> = HashMap::new();
    for consumer in snapshot.consumers {
        let entry = consumers_of.entry(consumer.queue.name).or_default();
        entry.0 += 1;
        if let Some(service) = client_names.get(&consumer.channel_details.connection_name)
            && !entry.1.contains(service)
        {
            entry.1.push(service.clone());
        }
    }

    let mut queues: Vec<Queue> = snapshot
        .queues
        .into_iter()
        .map(|q| {
            let (consumers, mut services) = consumers_of.remove(&q.name).unwrap_or_default();
            services.sort();
            Queue {
                role: QueueRole::of(&q.name),
                name: q.name,
                messages: q.messages,
                consumers,
                services,
            }
        })
        .collect();
    let bound = |queue: &Queue| bindings.iter().any(|b| b.queue == queue.name);
    queues.sort_by(|a, b| (!bound(a), &a.name).cmp(&(!bound(b), &b.name)));

    let mut services: Vec<String> = queues.iter().flat_map(|q| q.services.clone()).collect();
    services.sort();
    services.dedup();
    Topology {
        vhost: vhost.to_owned(),
        exchanges,
        bindings,
        queues,
        services,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::management::{RawBinding, RawConnection, RawConsumer, RawExchange, RawQueue};

    fn snapshot() -> Snapshot {
        let exchanges = json!([
            {"name": "", "type": "direct", "durable": true},
            {"name": "amq.topic", "type": "topic", "durable": true},
            {"name": "order", "type": "topic", "durable": true},
            {"name": "billing", "type": "topic", "durable": true},
        ]);
        let queues = json!([
            {"name": "billing.dead", "messages": 0},
            {"name": "billing", "messages": 3},
            {"name": "billing.retry.1000ms"},
            {"name": "order", "messages": 0},
        ]);
        let bindings = json!([
            {"source": "", "destination": "billing", "destination_type": "queue", "routing_key": "billing"},
            {"source": "order", "destination": "billing", "destination_type": "queue", "routing_key": "order.*.submit"},
            {"source": "billing", "destination": "order", "destination_type": "queue", "routing_key": "billing.*.charged"},
            {"source": "order", "destination": "billing", "destination_type": "queue", "routing_key": "order.*.cancelled"},
        ]);
        let consumers = json!([
            {"queue": {"name": "billing"}, "channel_details": {"connection_name": "c1"}},
            {"queue": {"name": "billing"}, "channel_details": {"connection_name": "c2"}},
            {"queue": {"name": "order"}, "channel_details": {"connection_name": "c3"}},
        ]);
        let connections = json!([
            {"name": "c1", "client_properties": {"connection_name": "billing"}},
            {"name": "c2", "client_properties": {"connection_name": "billing"}},
            {"name": "c3", "client_properties": {}},
        ]);
        Snapshot {
            exchanges: serde_json::from_value::<Vec<RawExchange>>(exchanges).unwrap(),
            queues: serde_json::from_value::<Vec<RawQueue>>(queues).unwrap(),
            bindings: serde_json::from_value::<Vec<RawBinding>>(bindings).unwrap(),
            consumers: serde_json::from_value::<Vec<RawConsumer>>(consumers).unwrap(),
            connections: serde_json::from_value::<Vec<RawConnection>>(connections).unwrap(),
        }
    }

    #[test]
    fn only_the_services_exchanges_and_their_bindings_are_drawn() {
        let topology = assemble("/", snapshot());
        let names: Vec<&str> = topology.exchanges.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["billing", "order"]);
        let bindings: Vec<(&str, &str, &str)> = topology
            .bindings
            .iter()
            .map(|b| (b.exchange.as_str(), b.queue.as_str(), b.pattern.as_str()))
            .collect();
        assert_eq!(
            bindings,
            [
                ("billing", "order", "billing.*.charged"),
                ("order", "billing", "order.*.cancelled"),
                ("order", "billing", "order.*.submit"),
            ]
        );
    }

    #[test]
    fn queues_name_their_role_and_consuming_services_bound_ones_first() {
        let topology = assemble("/", snapshot());
        let queues: Vec<(&str, QueueRole, usize)> = topology
            .queues
            .iter()
            .map(|q| (q.name.as_str(), q.role, q.consumers))
            .collect();
        assert_eq!(
            queues,
            [
                ("billing", QueueRole::Service, 2),
                ("order", QueueRole::Service, 1),
                ("billing.dead", QueueRole::Dead, 0),
                ("billing.retry.1000ms", QueueRole::Retry, 0),
            ]
        );
        assert_eq!(topology.queues[0].services, ["billing"]);
        assert_eq!(topology.queues[0].messages, Some(3));
        // A connection without a client-given name is counted but not named.
        assert!(topology.queues[1].services.is_empty());
        assert_eq!(topology.services, ["billing"]);
    }
}
