//! How the flow scales out: the shop on a private three-node cluster with quorum queues, once
//! with one instance per service and once with two competing for every queue, each loaded to
//! its maximum by the same closed loop.
//!
//! A figure is end to end: orders posted by `clients` clients as fast as they are answered,
//! divided by the time from the first POST until every accepted order is final (shipped or
//! cancelled), so a backlog left in the queues counts against it. Both runs use the same
//! cluster, PostgreSQL, binaries and order mix; each gets a vhost and databases of its own.

use std::time::{Duration, Instant};

use crate::{
    auth::SuiteKey,
    binaries::Binaries,
    catch_up,
    cluster::PrivateCluster,
    load::Plan,
    postgres::PrivatePostgres,
    service::Service,
    shop::{Shop, ShopOptions},
};

/// How long an order may stay pending before the order service cancels it: long enough that
/// no order of a saturated run times out, so every run does the same work.
const DEADLINE_SECS: u64 = 600;

/// Orders posted before each measured run, to open connections and warm caches.
const WARM_UP: usize = 50;

/// What one run is loaded with.
#[derive(Debug, Clone, Copy)]
pub struct Loading {
    /// Orders of the measured run.
    pub orders: usize,
    /// Concurrent clients posting them (a closed loop: each posts its next when answered).
    pub clients: usize,
}

/// What one run measured.
#[derive(Debug, Clone)]
pub struct Throughput {
    /// Instances of each service.
    pub instances: u8,
    /// Orders accepted.
    pub accepted: usize,
    /// Orders that failed to be accepted (0 in a healthy run).
    pub failed: usize,
    /// From the first POST until every accepted order was final.
    pub took: Duration,
    /// How long the clients took to post them all.
    pub posting: Duration,
    /// Accepted orders that were not final when the bound ran out.
    pub unfinished: bool,
}

impl Throughput {
    /// Final orders per second, end to end.
    pub fn per_second(&self) -> f64 {
        self.accepted as f64 / self.took.as_secs_f64().max(f64::EPSILON)
    }
}

/// The private cluster, database and services both runs share.
pub struct Bench {
    cluster: PrivateCluster,
    postgres: PrivatePostgres,
    binaries: Binaries,
    key: SuiteKey,
    /// More settings for every instance (`SHOP__BUS__BATCH_SIZE=1`), after the bench's own.
    environment: Vec<(String, String)>,
}

impl Bench {
    /// Builds the services and boots a cluster of `nodes` and a PostgreSQL cluster, at once.
    pub async fn start(nodes: usize, environment: Vec<(String, String)>) -> anyhow::Result<Self> {
        crate::leftovers::reap();
        let key = SuiteKey::generate()?;
        let (binaries, cluster, postgres) = tokio::try_join!(
            Binaries::prepare(),
            PrivateCluster::start("bench", nodes),
            PrivatePostgres::start("bench"),
        )?;
        Ok(Self {
            cluster,
            postgres,
            binaries,
            key,
            environment,
        })
    }

    /// One run with `instances` of every service.
    pub async fn run(&self, instances: u8, loading: Loading) -> anyhow::Result<Throughput> {
        let name = format!("scale-{instances}");
        let mut environment = vec![
            ("SHOP__BUS__BROKER__NODES".into(), self.cluster.node_list()),
            ("SHOP__BUS__QUEUE_TYPE".into(), "quorum".into()),
            ("SHOP__TELEMETRY__LEVEL".into(), "warn".into()),
        ];
        environment.extend(self.environment.iter().cloned());
        let options = ShopOptions {
            deadline_secs: DEADLINE_SECS,
            environment,
            ..ShopOptions::default()
        };
        let mut shop = Shop::open(
            &name,
            self.cluster.endpoint(0),
            self.postgres.server(),
            self.binaries.clone(),
            self.key.credentials(),
            options,
        )
        .await?;
        for number in 1..instances {
            for service in Service::ALL {
                shop.start((service, number)).await?;
            }
        }
        let outcome = measure(&shop, instances, loading).await;
        shop.close(outcome.is_err()).await?;
        outcome
    }
}

async fn measure(shop: &Shop, instances: u8, loading: Loading) -> anyhow::Result<Throughput> {
    let bound = Duration::from_secs(DEADLINE_SECS);
    let warm = shop.traffic(Plan {
        rate: None,
        ..Plan::paced(
            &format!("{}-warm", shop.name),
            WARM_UP,
            1.0,
            loading.clients,
        )
    });
    warm.finish().await;
    let warmed = catch_up::database_now(shop).await?;
    catch_up::caught_up(shop, warmed, bound)
        .await
        .ok_or_else(|| anyhow::anyhow!("the warm-up orders did not become final"))?;

    let started = Instant::now();
    let traffic = shop.traffic(Plan {
        rate: None,
        ..Plan::paced(&shop.name, loading.orders, 1.0, loading.clients)
    });
    let posted = traffic.finish().await;
    let posting = started.elapsed();
    let since = catch_up::database_now(shop).await?;
    let unfinished = catch_up::caught_up(shop, since, bound).await.is_none();
    Ok(Throughput {
        instances,
        accepted: posted.accepted.len(),
        failed: posted.failures.len(),
        took: started.elapsed(),
        posting,
        unfinished,
    })
}
