//! The shop on a three-node RabbitMQ cluster of its own, with quorum queues and two instances
//! of every service, while nodes die under it.
//!
//! Every instance lists the three nodes and connects to the first that answers, so at first all
//! of them are on one node, which also holds every queue's leader (quorum queues are led from
//! the node their declaring client is on). Two faults, each under a wave of orders:
//!
//! 1. the node holding the most queue leaders is killed with SIGKILL: the instances move to the
//!    next node of their list and declare their topology again, the queues elect leaders on the
//!    two survivors; the node is booted again and rejoins;
//! 2. then the node most instances are connected to now is killed the same way and booted again.
//!
//! Unconfirmed publishes are published again and redelivered messages meet the inboxes: the
//! aftermath's invariants (every order final, money and stock right, one email per final state,
//! nothing twice) must hold, with two instances competing for every queue all along.

use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

use super::{
    Lab,
    aftermath::{self, Aftermath},
};
use crate::{
    catch_up,
    cluster::PrivateCluster,
    load::{Plan, Posted},
    report::Report,
    service::Service,
    shop::{Shop, ShopOptions},
};

/// The cluster's size: three nodes keep a quorum with one down.
const NODES: usize = 3;

/// Orders of each wave, as a multiple of the scenario load: a wave lasts through a kill and
/// the node's boot.
const WAVE_FACTOR: usize = 2;

pub async fn run(lab: &Lab, name: &str) -> anyhow::Result<Report> {
    let started = Instant::now();
    let mut cluster = PrivateCluster::start(name, NODES).await?;
    let options = ShopOptions {
        environment: vec![
            ("SHOP__BUS__BROKER__NODES".into(), cluster.node_list()),
            ("SHOP__BUS__QUEUE_TYPE".into(), "quorum".into()),
        ],
        ..lab.options()
    };
    let mut shop = Shop::open(
        name,
        cluster.endpoint(0),
        lab.postgres,
        lab.binaries.clone(),
        lab.credentials.clone(),
        options,
    )
    .await?;
    for service in Service::ALL {
        shop.start((service, 1)).await?;
    }
    let mut violations = Vec::new();
    let twins = competing_consumers(&shop).await?;
    for (queue, consumers) in &twins {
        if *consumers < 2 {
            violations.push(format!(
                "{queue} had {consumers} consumers, not two instances"
            ));
        }
    }

    let wave = lab.load.orders * WAVE_FACTOR;
    let mut posted = Posted::default();
    let mut faults = Vec::new();
    let mut killed: Option<usize> = None;
    for round in 1..=2 {
        let mut traffic = shop.traffic(Plan::paced(
            &format!("{name}-{round}"),
            wave,
            lab.load.rate,
            lab.load.clients,
        ));
        traffic.reached(wave / 3).await;
        let layout = Layout::read(&shop, &cluster).await?;
        let victim = match killed {
            None => layout.most_leaders(),
            Some(before) => layout.most_connections(before),
        };
        let Some(victim) = victim else {
            anyhow::bail!("no node to kill in round {round}: {layout:?}");
        };
        let (leaders, connections) = layout.held_by(victim);
        match killed {
            None if leaders == 0 => {
                violations.push(format!("the first node killed led no queue ({layout:?})"))
            }
            Some(_) if connections == 0 => violations.push(format!(
                "the second node killed had no service connected ({layout:?})"
            )),
            _ => {}
        }
        // The suite's own calls go to a node that stays up.
        let watcher = (0..cluster.size())
            .find(|index| *index != victim)
            .expect("a cluster of three has another node");
        shop.broker = cluster.endpoint(watcher);

        cluster.kill(victim).await?;
        let booting = cluster.start_again(victim).await?;
        let ready = shop.wait_ready().await?;
        posted.merge(traffic.finish().await);
        faults.push(format!(
            "SIGKILL of node {} at order {} of wave {round} (it led {leaders} of {} queues, \
             {connections} of {} service connections were on it), back in the cluster after \
             {:.1}s, every instance ready {:.1}s after that",
            victim + 1,
            wave / 3,
            layout.queues,
            layout.connections,
            booting.as_secs_f64(),
            ready.as_secs_f64(),
        ));
        killed = Some(victim);
    }
    let lifted = catch_up::database_now(&shop).await?;
    let recovered = catch_up::caught_up(&shop, lifted, aftermath::patience(&shop)).await;
    violations.extend(not_quorum(&shop).await?);

    let fault = format!(
        "{NODES}-node cluster, quorum queues, two instances of each service ({}); {}",
        twins
            .iter()
            .map(|(queue, consumers)| format!("{queue} {consumers}"))
            .collect::<Vec<_>>()
            .join(", "),
        faults.join("; then ")
    );
    let aftermath = Aftermath {
        fault,
        recovered,
        violations,
        ..Aftermath::default()
    };
    // The shop closes before its cluster goes.
    let report = aftermath::conclude(shop, posted, aftermath, started).await;
    drop(cluster);
    report
}

/// Where the service queues' leaders and the services' connections are, by node index.
#[derive(Debug, Default)]
struct Layout {
    leaders: BTreeMap<usize, usize>,
    on_node: BTreeMap<usize, usize>,
    /// Service queues counted.
    queues: usize,
    /// Service connections counted.
    connections: usize,
}

impl Layout {
    /// Reads it from the management API; the broker refreshes its figures every half second,
    /// so this waits (bounded) until every service queue shows a leader and every instance a
    /// connection.
    async fn read(shop: &Shop, cluster: &PrivateCluster) -> anyhow::Result<Self> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let mut layout = Self::default();
            for queue in shop.broker.management.queues(&shop.vhost).await? {
                if owner(&queue.name).is_none() {
                    continue;
                }
                layout.queues += 1;
                if let Some(index) = queue.node.as_deref().and_then(|n| cluster.index_of(n)) {
                    *layout.leaders.entry(index).or_default() += 1;
                }
            }
            for connection in shop.broker.management.connections(&shop.vhost).await? {
                let service = connection.client_name.as_deref().and_then(Service::parse);
                if service.is_none() {
                    continue;
                }
                layout.connections += 1;
                if let Some(index) = connection.node.as_deref().and_then(|n| cluster.index_of(n)) {
                    *layout.on_node.entry(index).or_default() += 1;
                }
            }
            let complete = layout.queues > 0
                && layout.leaders.values().sum::<usize>() == layout.queues
                && layout.connections >= 2 * Service::ALL.len();
            if complete || Instant::now() >= deadline {
                return Ok(layout);
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    fn most_leaders(&self) -> Option<usize> {
        most(&self.leaders, None)
    }

    fn most_connections(&self, except: usize) -> Option<usize> {
        most(&self.on_node, Some(except))
    }

    /// Queue leaders and service connections on node `index`.
    fn held_by(&self, index: usize) -> (usize, usize) {
        (
            self.leaders.get(&index).copied().unwrap_or_default(),
            self.on_node.get(&index).copied().unwrap_or_default(),
        )
    }
}

fn most(counts: &BTreeMap<usize, usize>, except: Option<usize>) -> Option<usize> {
    counts
        .iter()
        .filter(|(index, _)| Some(**index) != except)
        .max_by_key(|(_, count)| **count)
        .map(|(index, _)| *index)
}

/// The service owning a queue (`billing.queue`, `billing.retry.250`, `billing.dead`...).
fn owner(queue: &str) -> Option<Service> {
    Service::parse(queue.split('.').next().unwrap_or_default())
}

/// Each service's main queue with its consumers, once both instances show (bounded).
async fn competing_consumers(shop: &Shop) -> anyhow::Result<Vec<(String, u64)>> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let queues: Vec<(String, u64)> = shop
            .broker
            .management
            .queues(&shop.vhost)
            .await?
            .into_iter()
            .filter(|queue| {
                Service::ALL
                    .iter()
                    .any(|service| queue.name == format!("{}.queue", service.name()))
            })
            .map(|queue| (queue.name, queue.consumers))
            .collect();
        let all_twinned = queues.len() == Service::ALL.len()
            && queues.iter().all(|(_, consumers)| *consumers >= 2);
        if all_twinned || Instant::now() >= deadline {
            return Ok(queues);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Service queues that are not quorum queues.
async fn not_quorum(shop: &Shop) -> anyhow::Result<Vec<String>> {
    Ok(shop
        .broker
        .management
        .queues(&shop.vhost)
        .await?
        .into_iter()
        .filter(|queue| owner(&queue.name).is_some() && queue.kind.as_deref() != Some("quorum"))
        .map(|queue| {
            format!(
                "{} is a {:?} queue, not a quorum queue",
                queue.name, queue.kind
            )
        })
        .collect())
}
