//! A bus given several broker nodes, and the arguments it declares quorum queues with. The
//! machine runs one RabbitMQ node, so the "nodes" here are TCP fronts forwarding to it, each of
//! which can be made to die as a node does (every connection through it cut, new ones refused);
//! the fault suite's cluster scenario does the same on three real clustered nodes.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use event_bus::{EventBus, EventTransaction, QueueType, QuorumSettings};
use lapin::{
    BasicProperties,
    options::{BasicGetOptions, BasicNackOptions},
    types::AMQPValue,
};
use tokio::{net::TcpListener, task::JoinSet};

use super::{header, ping};
use crate::support::{Ping, Record, World};

/// A front that forwards TCP connections to the broker until it is [killed](Self::kill).
struct Front {
    port: u16,
    accepted: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Front {
    async fn start(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a front");
        let port = listener.local_addr().expect("front address").port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = accepted.clone();
        let task = tokio::spawn(async move {
            // Aborting this task drops the listener and, with the set, every forwarded link.
            let mut links = JoinSet::new();
            while let Ok((mut client, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                let upstream = upstream.clone();
                links.spawn(async move {
                    if let Ok(mut server) = tokio::net::TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
            }
        });
        Self {
            port,
            accepted,
            task,
        }
    }

    fn node(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    /// Dies as a node does: the links through it are cut and its port refuses connections.
    async fn kill(self) {
        self.task.abort();
        let _ = self.task.await;
    }
}

/// A port nothing listens on: bound, then released.
async fn dead_node() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("address").port();
    drop(listener);
    format!("127.0.0.1:{port}")
}

#[tokio::test]
async fn the_bus_connects_to_the_first_listed_node_that_answers() {
    let world = World::new().await;
    let broker = world.settings("listed").broker;
    let mut settings = world.settings("listed");
    settings.broker.nodes = vec![
        dead_node().await,
        format!("{}:{}", broker.host, broker.port),
    ];
    let bus = world
        .start(EventBus::new(settings, world.db.pool.clone()).on::<Ping, _>(Record))
        .await;
    bus.publisher()
        .publish(&ping("through-the-second"), "n")
        .await
        .expect("publish");
    assert_eq!(
        world.wait_effects("ping", 1).await,
        vec!["through-the-second"]
    );
    world.stop(vec![bus]).await;
}

#[tokio::test]
async fn a_node_list_that_cannot_be_read_is_refused_at_start() {
    let world = World::new().await;
    let mut settings = world.settings("misread");
    settings.broker.nodes = vec!["rabbit-1:amqp".into()];
    let error = EventBus::new(settings, world.db.pool.clone())
        .publishes::<Ping>()
        .start(world.shutdown.clone())
        .await
        .err()
        .expect("refused");
    assert!(error.to_string().contains("`rabbit-1:amqp`"), "{error}");
    world.stop(vec![]).await;
}

/// The node a service is connected to dies with a staged event not yet relayed: the bus moves to
/// the other node, declares its topology there and the relay publishes what was pending.
#[tokio::test]
async fn when_its_node_dies_the_bus_moves_to_another_and_loses_nothing() {
    let world = World::new().await;
    let broker = world.settings("mover").broker;
    let upstream = format!("{}:{}", broker.host, broker.port);
    let first = Front::start(upstream.clone()).await;
    let second = Front::start(upstream).await;
    let mut settings = world.settings("mover");
    settings.broker.nodes = vec![first.node(), second.node()];
    settings.reconnect_min_ms = 20;
    let bus = world
        .start(EventBus::new(settings, world.db.pool.clone()).on::<Ping, _>(Record))
        .await;
    assert_eq!(
        (first.accepted(), second.accepted()),
        (1, 0),
        "connected through the first node"
    );
    bus.publisher()
        .publish(&ping("before"), "n")
        .await
        .expect("publish");
    world.wait_effects("ping", 1).await;

    first.kill().await;
    let mut tx = bus.outbox().begin().await.expect("begin");
    tx.publish_in("n", &ping("after")).expect("stage");
    tx.commit().await.expect("commit");

    assert_eq!(world.wait_effects("ping", 2).await, vec!["before", "after"]);
    assert_eq!(second.accepted(), 1, "reconnected through the second node");
    second.kill().await;
    world.stop(vec![bus]).await;
}

/// With a delivery limit, a message that every consumer takes and never settles (as one that
/// crashes each instance would be) ends in `<queue>.dead` instead of going round for ever, with
/// its properties, so it can be listed and replayed like any other dead letter.
#[tokio::test]
async fn a_quorum_queue_dead_letters_a_message_delivered_past_its_limit() {
    let world = World::new().await;
    let mut settings = world.settings("limited");
    settings.queue_type = QueueType::Quorum;
    settings.quorum = QuorumSettings {
        delivery_limit: 2,
        initial_group_size: 1,
    };
    let topology = EventBus::new(settings, world.db.pool.clone())
        .on::<Ping, _>(Record)
        .topology();
    let connection = world.broker.raw_connection().await;
    topology.declare(&connection).await.expect("declare");

    let channel = world.broker.raw_channel().await;
    world
        .broker
        .publish_raw(
            &channel,
            "",
            "limited.queue",
            br#"{"id":"crasher"}"#,
            BasicProperties::default().with_type("probe.v1.ping".into()),
        )
        .await;
    // Taken and given back until it leaves the queue; a returned message takes a moment to be
    // ready again, so an empty get is only the end once the dead-letter queue holds it.
    let mut deliveries = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let got = channel
            .basic_get("limited.queue".into(), BasicGetOptions::default())
            .await
            .expect("basic.get");
        match got {
            Some(message) => {
                deliveries += 1;
                assert!(deliveries <= 10, "the message keeps coming back");
                message
                    .delivery
                    .nack(BasicNackOptions {
                        requeue: true,
                        ..BasicNackOptions::default()
                    })
                    .await
                    .expect("give it back");
            }
            None if world
                .broker
                .queue_length(&channel, "limited.queue.dead")
                .await
                > 0 =>
            {
                break;
            }
            None => {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "neither redelivered nor dead-lettered within 20 s"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }

    let dead = world.broker.take(&channel, "limited.queue.dead").await;
    assert_eq!(deliveries, 3, "delivered once, then twice more, then dead");
    assert_eq!(dead.delivery.data, br#"{"id":"crasher"}"#);
    assert_eq!(
        dead.delivery
            .properties
            .kind()
            .as_ref()
            .map(|kind| kind.to_string()),
        Some("probe.v1.ping".into())
    );
    let Some(AMQPValue::FieldArray(deaths)) = header(&dead.delivery.properties, "x-death") else {
        panic!("no x-death: {:?}", dead.delivery.properties.headers());
    };
    let reasons: Vec<String> = deaths
        .as_slice()
        .iter()
        .filter_map(|death| match death {
            AMQPValue::FieldTable(table) => match table.inner().get("reason") {
                Some(AMQPValue::LongString(reason)) => {
                    Some(String::from_utf8_lossy(reason.as_bytes()).into_owned())
                }
                _ => None,
            },
            _ => None,
        })
        .collect();
    assert_eq!(reasons, vec!["delivery_limit"]);
    world.stop(vec![]).await;
}
