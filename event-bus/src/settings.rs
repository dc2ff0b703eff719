//! Settings of the bus: where the broker is and how a service consumes, retries and relays.
//!
//! Every field has a default that works against a local single-node RabbitMQ, so a service only
//! has to name itself. The password is a [`SecretString`]: it never shows in `Debug` output or logs.

use std::time::Duration;

use lapin::uri::{AMQPAuthority, AMQPQueryString, AMQPScheme, AMQPUri, AMQPUserInfo};
use lapin::{Connection, ConnectionProperties};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::error::{Error, Result};
use crate::senders::SenderSettings;
use crate::tls::{BrokerTls, TlsConnectError};

/// Everything the bus needs to run one service.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct BusSettings {
    /// The service's name: the name of its one queue and the `app_id` of what it publishes.
    pub service: String,
    pub broker: BrokerSettings,
    /// How many unacknowledged messages the broker may push to one consumer (`basic.qos`).
    pub prefetch: u16,
    /// How many workers of one instance handle messages at the same time, each in its own
    /// transaction.
    pub concurrency: usize,
    /// How many deliveries, already waiting when a worker is free, it may handle in one
    /// transaction (a savepoint before each handler keeps a failure to its own message). More
    /// than 1 saves most of a transaction's round trips and its WAL flush per delivery under
    /// load. With several workers, batches that lock the same rows in a different order can
    /// deadlock: PostgreSQL breaks it after `deadlock_timeout` and the losing batch is handled
    /// again one delivery at a time, so a service whose handlers lock shared rows batches with
    /// one worker. 32 by default; 1 gives every delivery its own transaction.
    pub batch_size: usize,
    /// How long a worker whose batch is not full waits for more deliveries before handling it,
    /// in milliseconds; 0 handles at once what is waiting. Under a moderate load deliveries come
    /// one at a time and each pays a transaction (its WAL flush) and a wake-up of the relay; a
    /// few milliseconds let them share one, and every hop's latency grows by at most that much.
    /// 1 by default.
    pub batch_linger_ms: u64,
    /// In a batch, a savepoint before each handler, so that a failing handler has only its own
    /// writes rolled back and no other handler of the batch runs twice: needed by handlers with
    /// effects outside the database (an email), and one round trip per delivery whose handler
    /// uses the transaction (handlers that do not share one savepoint). Off, a failure
    /// rolls the batch back and its deliveries are handled again one at a time.
    pub savepoint_per_handler: bool,
    /// `classic` suits a single node; `quorum` replicates across a cluster: with it, the
    /// service's queue, its retry queues and its dead-letter queue are all quorum queues.
    pub queue_type: QueueType,
    /// What quorum queues are declared with (`bus.quorum.*`); ignored for classic queues.
    pub quorum: QuorumSettings,
    /// Delay before each retry of a failing handler, in milliseconds; one retry queue each.
    /// After the last one the message is dead-lettered.
    pub retry_delays_ms: Vec<u64>,
    /// First and largest pause between reconnection attempts, in milliseconds.
    pub reconnect_min_ms: u64,
    pub reconnect_max_ms: u64,
    /// How long a handler may run before it counts as failed (a [`Timeout`] layer around every
    /// handler call); 0 for no bound. A hung handler otherwise holds its worker, and with one
    /// worker its whole queue. It also bounds every statement of a handler transaction to twice
    /// its value (`SET LOCAL statement_timeout`, when the database's own bound is longer or
    /// none), so that the statement of a handler given up on ends too and frees its locks.
    ///
    /// [`Timeout`]: crate::layer::Timeout
    pub handler_timeout_ms: u64,
    /// The largest message body taken in, in bytes: a larger one is dead-lettered with the reason
    /// before it is decoded or stored.
    pub max_message_bytes: usize,
    /// How long the inbox remembers a handled message id, in seconds: a duplicate within it is
    /// applied once, so it must outlast any delay or parking a message can go through.
    pub inbox_retention_secs: u64,
    pub outbox: OutboxSettings,
    /// Which broker users are believed as the publishers of each exchange.
    pub senders: SenderSettings,
}

impl Default for BusSettings {
    fn default() -> Self {
        Self {
            service: "service".into(),
            broker: BrokerSettings::default(),
            prefetch: 64,
            concurrency: 16,
            // Batching is on by default: in the bus hop benchmark it took the bus from 3.0k to
            // 4.4k msg/s with one queue and from 1.1k to 2.1k with three (the 1 ms linger adds
            // at most that to a hop); see the README's "Batched transactions".
            batch_size: 32,
            batch_linger_ms: 1,
            savepoint_per_handler: true,
            queue_type: QueueType::Classic,
            quorum: QuorumSettings::default(),
            retry_delays_ms: vec![1_000, 5_000, 30_000],
            reconnect_min_ms: 100,
            reconnect_max_ms: 5_000,
            handler_timeout_ms: 30_000,
            max_message_bytes: 1024 * 1024,
            inbox_retention_secs: 7 * 24 * 3_600,
            outbox: OutboxSettings::default(),
            senders: SenderSettings::default(),
        }
    }
}

impl BusSettings {
    /// A default configuration for `service`.
    pub fn for_service(service: impl Into<String>) -> Self {
        Self {
            service: service.into(),
            ..Self::default()
        }
    }

    pub(crate) fn retry_delays(&self) -> impl Iterator<Item = Duration> + '_ {
        self.retry_delays_ms
            .iter()
            .map(|ms| Duration::from_millis(*ms))
    }
}

/// Where the broker is.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct BrokerSettings {
    pub host: String,
    pub port: u16,
    /// The nodes of a cluster, each `host:port` (`host` alone takes [`Self::port`]). When set,
    /// they replace `host` and `port`: the bus connects to the first that answers and, once the
    /// link to a node is lost, tries the next one first, so that a service moves off a dead node
    /// at its first reconnect. Every node must serve the same vhost with the same users (a
    /// cluster shares them). From the environment, a comma-separated list:
    /// `SHOP__BUS__BROKER__NODES=rabbit-1:5672,rabbit-2:5672,rabbit-3:5672`.
    pub nodes: Vec<String>,
    pub username: String,
    pub password: SecretString,
    pub vhost: String,
    /// Heartbeat interval the client asks for, in seconds: a dead link is noticed after about two.
    pub heartbeat_secs: u16,
    /// TLS to the broker (`bus.broker.tls.*`); off by default, as a local broker listens in
    /// plain. With it on, `port` must be the broker's TLS listener (usually 5671).
    pub tls: BrokerTls,
}

impl Default for BrokerSettings {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 5672,
            nodes: Vec::new(),
            username: "guest".into(),
            password: SecretString::from("guest"),
            vhost: "/".into(),
            heartbeat_secs: 10,
            tls: BrokerTls::default(),
        }
    }
}

impl BrokerSettings {
    /// The connection URI, built field by field so that no password has to be escaped or logged;
    /// scheme `amqps` when TLS is on.
    pub fn uri(&self) -> AMQPUri {
        AMQPUri {
            scheme: if self.tls.enabled {
                AMQPScheme::AMQPS
            } else {
                AMQPScheme::AMQP
            },
            authority: AMQPAuthority {
                userinfo: AMQPUserInfo {
                    username: self.username.clone(),
                    password: self.password.expose_secret().to_owned(),
                },
                host: self.host.clone(),
                port: self.port,
            },
            vhost: self.vhost.clone(),
            query: AMQPQueryString {
                heartbeat: Some(self.heartbeat_secs),
                connection_timeout: Some(10_000),
                ..AMQPQueryString::default()
            },
        }
    }

    /// How long connecting (TCP and the AMQP handshake) may take before the attempt is given up
    /// and retried: as long as an established link may stay silent, two heartbeats (10 s with
    /// heartbeats off).
    pub fn connect_timeout(&self) -> Duration {
        match self.heartbeat_secs {
            0 => Duration::from_secs(10),
            secs => Duration::from_secs(2 * u64::from(secs)),
        }
    }

    /// Connects to the broker, over TLS when it is on (see [`BrokerTls`]). A failure names the
    /// endpoint and, over TLS, what the broker's certificate had to chain to, since an unknown
    /// issuer is the usual mistake.
    pub async fn connect(&self, properties: ConnectionProperties) -> Result<Connection> {
        if !self.tls.enabled {
            return Connection::connect_uri(self.uri(), properties)
                .await
                .map_err(|source| Error::Connect {
                    endpoint: self.endpoint(),
                    source,
                });
        }
        let config = self.tls.client_config().map_err(|source| Error::TlsSetup {
            endpoint: self.endpoint(),
            source,
        })?;
        let runtime = lapin::runtime::default_runtime().map_err(|source| Error::Connect {
            endpoint: self.endpoint(),
            source,
        })?;
        Connection::connect_uri_with_config(self.uri(), properties, config, runtime)
            .await
            .map_err(|source| {
                Error::TlsConnect(Box::new(TlsConnectError {
                    endpoint: self.endpoint(),
                    trusted: self.tls.trusted(),
                    source,
                }))
            })
    }

    /// `host:port/vhost`, safe to log.
    pub fn endpoint(&self) -> String {
        format!("{}:{}/{}", self.host, self.port, self.vhost)
    }

    /// The settings of each node to try, in order: one per entry of [`Self::nodes`], or these
    /// settings alone when no nodes are listed. A node that does not read as `host[:port]` is
    /// an error naming it.
    pub fn each_node(&self) -> Result<Vec<BrokerSettings>> {
        if self.nodes.is_empty() {
            return Ok(vec![self.clone()]);
        }
        self.nodes
            .iter()
            .map(|node| {
                let (host, port) = parse_node(node, self.port)?;
                Ok(BrokerSettings {
                    host,
                    port,
                    nodes: Vec::new(),
                    ..self.clone()
                })
            })
            .collect()
    }
}

/// `host:port`, `host` (taking `default_port`) or `[v6]:port`.
fn parse_node(node: &str, default_port: u16) -> Result<(String, u16)> {
    let bad = |reason: &str| Error::BadNode {
        node: node.to_owned(),
        reason: reason.to_owned(),
    };
    let node = node.trim();
    let (host, port) = match node.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') || host.ends_with(']') => (
            host,
            port.parse::<u16>()
                .map_err(|_| bad("the port is not a number from 0 to 65535"))?,
        ),
        _ => (node, default_port),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return Err(bad("the host is empty"));
    }
    Ok((host.to_owned(), port))
}

/// What quorum queues are declared with. Both are queue arguments, fixed when a queue is first
/// declared: changing them later is a conflict (delete the queue, or set a policy instead).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct QuorumSettings {
    /// `x-delivery-limit`: after this many deliveries without an ack (the service died or lost
    /// its link each time it held the message, as a message that crashes the process does), the
    /// broker moves the message to `<queue>.dead` instead of delivering it again, at least once.
    /// 0, the default, sets no limit: a message that kills every instance that takes it is then
    /// redelivered for ever. The bus gives a delivery back unacked on a database outage and on
    /// shutdown, which counts too, so leave room for those (20 is a fair start).
    pub delivery_limit: u32,
    /// `x-quorum-initial-group-size`: on how many nodes each queue keeps a replica; 0 for the
    /// broker's default (every node of the cluster, at most its configured maximum). An odd
    /// number of three or more survives the loss of a minority.
    pub initial_group_size: u32,
}

/// The kind of queue the service declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueueType {
    #[default]
    Classic,
    Quorum,
}

impl QueueType {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Classic => "classic",
            Self::Quorum => "quorum",
        }
    }
}

/// How the outbox relay runs.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct OutboxSettings {
    /// The relay is woken by every commit of this process that staged events; this is the
    /// fallback poll (rows of another instance, rows waiting for a subscriber), in milliseconds.
    pub poll_interval_ms: u64,
    /// Rows claimed and published (pipelined) per round.
    pub batch_size: i64,
    /// Published rows are kept this long for inspection, then deleted, in seconds.
    pub retention_secs: u64,
}

impl Default for OutboxSettings {
    fn default() -> Self {
        Self {
            poll_interval_ms: 1_000,
            batch_size: 200,
            retention_secs: 3_600,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoints(broker: &BrokerSettings) -> Vec<String> {
        broker
            .each_node()
            .expect("nodes")
            .iter()
            .map(BrokerSettings::endpoint)
            .collect()
    }

    #[test]
    fn without_nodes_the_host_and_port_are_the_one_node() {
        assert_eq!(
            endpoints(&BrokerSettings::default()),
            vec!["127.0.0.1:5672//"]
        );
    }

    #[test]
    fn listed_nodes_replace_the_host_and_port_and_keep_the_rest() {
        let broker = BrokerSettings {
            nodes: vec![
                "rabbit-1:5701".into(),
                " rabbit-2".into(),
                "[::1]:5703".into(),
            ],
            port: 5600,
            vhost: "shop".into(),
            username: "billing".into(),
            ..BrokerSettings::default()
        };
        assert_eq!(
            endpoints(&broker),
            vec!["rabbit-1:5701/shop", "rabbit-2:5600/shop", "::1:5703/shop"]
        );
        let nodes = broker.each_node().expect("nodes");
        assert!(nodes.iter().all(|node| node.username == "billing"));
        assert!(nodes.iter().all(|node| node.nodes.is_empty()));
    }

    #[test]
    fn a_node_that_does_not_read_as_host_and_port_is_named() {
        for bad in ["rabbit-1:amqp", ":5672", "rabbit-1:70000"] {
            let broker = BrokerSettings {
                nodes: vec!["ok:1".into(), bad.into()],
                ..BrokerSettings::default()
            };
            let error = broker.each_node().expect_err(bad).to_string();
            assert!(error.contains(&format!("`{bad}`")), "{error}");
        }
    }
}
