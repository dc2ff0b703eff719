//! The shop of one scenario: the four service processes on a vhost of their own and a database
//! each, in the suite's private broker and cluster, configured only through environment
//! variables (`SHOP__...` for all, `<SERVICE>__...` for one), as an operator would.
//!
//! Every instance keeps its HTTP port across restarts, so the clients' URL stays valid. With
//! `through_proxies`, each service reaches the broker through a [`Proxy`] of its own, which a
//! scenario can cut. Every instance trusts the suite's signing key, and every request the suite
//! sends to the shop carries its staff token (see [`crate::auth`]).

use std::{
    collections::BTreeMap,
    net::SocketAddr,
    path::PathBuf,
    time::{Duration, Instant},
};

use anyhow::Context;
use futures_util::future::try_join_all;
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use crate::{
    auth::Credentials,
    binaries::Binaries,
    broker::BrokerEndpoint,
    leftovers,
    load::{self, Plan, Traffic},
    mix,
    ports::free_port,
    postgres::PgServer,
    process::{ServiceProcess, Stopped},
    proxy::Proxy,
    service::Service,
};

/// Delays of the broker-held retries: short, so faults heal fast, and adding up to about 16 s,
/// longer than any outage a scenario causes, so a message fails over to the dead letters only
/// when something is really wrong.
pub const RETRY_DELAYS_MS: &str = "250,500,1000,2000,4000,8000";

/// The order service's limit of pending orders per customer (20 by default), turned off (`0`):
/// the [mix](crate::mix) orders for two dozen customers, so a broker outage of a minute at 25
/// orders/s leaves about 60 orders pending per customer, and the burst 40. The suite proves what
/// faults do to accepted orders, not the admission rules, which the order service's own tests
/// cover. (Its other limit, on held `?wait=` requests, the suite never meets: it does not wait.)
const MAX_PENDING_PER_CUSTOMER: &str = "0";
/// How a scenario's shop is set up.
#[derive(Debug, Clone)]
pub struct ShopOptions {
    /// `order.service.deadline_secs`: a pending order older than this is cancelled (`timeout`).
    /// Short enough that outages make the timeout path run, long enough that healthy orders
    /// under load are not cancelled.
    pub deadline_secs: u64,
    /// `bus.broker.heartbeat_secs`: how soon a silent link is given up.
    pub heartbeat_secs: u16,
    /// Whether each service reaches the broker through a proxy that can cut the link.
    pub through_proxies: bool,
    /// More variables for every instance, set after the suite's own so that they win; a
    /// `BILLING__...` one is read by billing only (`BILLING__BUS__HANDLER_TIMEOUT_MS=1000`).
    pub environment: Vec<(String, String)>,
}

impl Default for ShopOptions {
    fn default() -> Self {
        Self {
            deadline_secs: 15,
            heartbeat_secs: 5,
            through_proxies: false,
            environment: Vec::new(),
        }
    }
}

/// One instance of a service: the first is 0, a twin 1.
pub type Instance = (Service, u8);

/// The four services of one scenario.
pub struct Shop {
    pub name: String,
    pub vhost: String,
    /// Logs and mail of this shop; kept when the scenario fails.
    pub dir: PathBuf,
    pub broker: BrokerEndpoint,
    pub postgres: PgServer,
    pub http: reqwest::Client,
    pub options: ShopOptions,
    binaries: Binaries,
    /// Prefix of the services' broker users (`<prefix><service>`).
    user_prefix: String,
    /// The key the services trust and the token the suite sends.
    credentials: Credentials,
    databases: BTreeMap<Service, String>,
    ports: BTreeMap<Instance, u16>,
    running: BTreeMap<Instance, ServiceProcess>,
    proxies: BTreeMap<Service, Proxy>,
    pools: BTreeMap<Service, PgPool>,
    /// Units of each SKU put on hand before the load.
    pub initial_stock: Vec<(String, i64)>,
    /// The catalog's price of each SKU, in cents, as put there before the load.
    pub prices: BTreeMap<String, i64>,
}

impl Shop {
    /// Creates the vhost, starts the four services, waits until they are ready, and fills the
    /// catalog, the warehouse and the customers of the [mix](crate::mix).
    pub async fn open(
        name: &str,
        broker: BrokerEndpoint,
        postgres: PgServer,
        binaries: Binaries,
        credentials: Credentials,
        options: ShopOptions,
    ) -> anyhow::Result<Self> {
        let short = &Uuid::new_v4().simple().to_string()[..8];
        let vhost = format!("fault-{name}-{short}");
        broker.management.create_vhost(&vhost).await?;
        let databases = Service::ALL
            .into_iter()
            .map(|service| {
                let label = name.replace('-', "_");
                (service, format!("f_{label}_{}_{short}", service.name()))
            })
            .collect();
        let mut proxies = BTreeMap::new();
        if options.through_proxies {
            let upstream = SocketAddr::from(([127, 0, 0, 1], broker.amqp_port));
            for service in Service::ALL {
                proxies.insert(service, Proxy::start(upstream).await?);
            }
        }
        let dir = leftovers::claim_dir(&format!("shop-{name}"))?;
        // Each service as a broker user of its own, as `shopctl broker provision` makes them;
        // named after the vhost, since users are the node's, not the vhost's.
        let user_prefix = format!("{vhost}-");
        shopctl::provision::provision(
            broker.management.client(),
            &vhost,
            &user_prefix,
            &dir.join("broker"),
        )
        .await
        .context("Failed to provision the services' broker users")?;
        let mut shop = Self {
            user_prefix,
            name: name.to_owned(),
            vhost,
            dir,
            broker,
            postgres,
            http: reqwest::Client::builder()
                .pool_max_idle_per_host(128)
                .build()
                .context("Failed to build an HTTP client")?,
            options,
            binaries,
            credentials,
            databases,
            ports: BTreeMap::new(),
            running: BTreeMap::new(),
            proxies,
            pools: BTreeMap::new(),
            initial_stock: Vec::new(),
            prices: BTreeMap::new(),
        };
        for service in Service::ALL {
            shop.spawn((service, 0))?;
        }
        let http = shop.http.clone();
        try_join_all(
            shop.running
                .values_mut()
                .map(|process| process.wait_ready(&http)),
        )
        .await?;
        for service in Service::ALL {
            let pool = shop.postgres.pool(&shop.databases[&service]).await?;
            shop.pools.insert(service, pool);
        }
        shop.stock_up().await?;
        Ok(shop)
    }

    /// The environment of one instance: where the broker and its database are, its port, and
    /// settings that make faults heal within a scenario.
    fn environment(&self, (service, _): Instance, port: u16) -> Vec<(String, String)> {
        let amqp_port = match self.proxies.get(&service) {
            Some(proxy) => proxy.port(),
            None => self.broker.amqp_port,
        };
        let own = service.env_prefix();
        let mut variables: Vec<(String, String)> = vec![
            ("SHOP__APPLICATION__HOST".into(), "127.0.0.1".into()),
            ("SHOP__DATABASE__HOST".into(), "127.0.0.1".into()),
            (
                "SHOP__DATABASE__PORT".into(),
                self.postgres.port.to_string(),
            ),
            ("SHOP__DATABASE__USERNAME".into(), "postgres".into()),
            ("SHOP__BUS__BROKER__HOST".into(), "127.0.0.1".into()),
            ("SHOP__BUS__BROKER__PORT".into(), amqp_port.to_string()),
            (
                "SHOP__BUS__BROKER__USERNAME".into(),
                format!("{}{}", self.user_prefix, service.name()),
            ),
            (
                "SHOP__BUS__BROKER__PASSWORD".into(),
                self.broker_password(service),
            ),
            (
                "SHOP__BUS__SENDERS__USER_PREFIX".into(),
                self.user_prefix.clone(),
            ),
            ("SHOP__BUS__BROKER__VHOST".into(), self.vhost.clone()),
            (
                "SHOP__BUS__BROKER__HEARTBEAT_SECS".into(),
                self.options.heartbeat_secs.to_string(),
            ),
            ("SHOP__BUS__RETRY_DELAYS_MS".into(), RETRY_DELAYS_MS.into()),
            ("SHOP__BUS__RECONNECT_MIN_MS".into(), "100".into()),
            ("SHOP__BUS__RECONNECT_MAX_MS".into(), "1000".into()),
            ("SHOP__BUS__OUTBOX__POLL_INTERVAL_MS".into(), "250".into()),
            ("SHOP__TELEMETRY__LEVEL".into(), "info".into()),
            (
                "SHOP__AUTH__PUBLIC_KEY_FILE".into(),
                self.credentials
                    .public_key_file
                    .to_string_lossy()
                    .into_owned(),
            ),
            (format!("{own}__APPLICATION__PORT"), port.to_string()),
            (
                format!("{own}__DATABASE__DATABASE_NAME"),
                self.databases[&service].clone(),
            ),
        ];
        let own_settings: &[(&str, String)] = match service {
            Service::Order => &[
                ("DEADLINE_SECS", self.options.deadline_secs.to_string()),
                ("SWEEP_INTERVAL_MS", "200".into()),
                ("MAX_PENDING_PER_CUSTOMER", MAX_PENDING_PER_CUSTOMER.into()),
            ],
            Service::Billing => &[("DEFAULT_CREDIT_CENTS", "1000000000000".into())],
            Service::Logistics => &[
                ("DEFAULT_STOCK", "0".into()),
                ("REPLENISH_THRESHOLD", "10".into()),
                ("REPLENISH_QUANTITY", "50".into()),
                ("REPLENISH_DELAY_MS", "300".into()),
                ("SUPPLIER_INTERVAL_MS", "100".into()),
            ],
            Service::Mailer => &[(
                "DATA_DIR",
                self.dir.join("mail").to_string_lossy().into_owned(),
            )],
        };
        // The suite's own poison injector publishes as the node's `guest`.
        variables.extend(Service::ALL.into_iter().map(|producer| {
            (
                format!(
                    "SHOP__BUS__SENDERS__TRUSTED__{}",
                    producer.name().to_uppercase()
                ),
                "guest".to_owned(),
            )
        }));
        variables.extend(
            own_settings
                .iter()
                .map(|(key, value)| (format!("{own}__SERVICE__{key}"), value.clone())),
        );
        variables.extend(self.options.environment.iter().cloned());
        variables
    }

    /// The broker password provisioning made for `service`.
    fn broker_password(&self, service: Service) -> String {
        let user = format!("{}{}", self.user_prefix, service.name());
        shopctl::provision::password(&self.dir.join("broker"), &user)
            .map(|password| secrecy::ExposeSecret::expose_secret(&password).to_owned())
            .unwrap_or_default()
    }

    fn spawn(&mut self, instance: Instance) -> anyhow::Result<()> {
        let port = match self.ports.get(&instance) {
            Some(port) => *port,
            None => {
                let port = free_port()?;
                self.ports.insert(instance, port);
                port
            }
        };
        let (service, number) = instance;
        let process = ServiceProcess::spawn(
            service,
            &self.binaries.path(service),
            &self.environment(instance, port),
            port,
            &self.dir,
            self.dir.join(format!("{service}-{number}.log")),
        )?;
        self.running.insert(instance, process);
        Ok(())
    }

    /// Starts an instance (again: on its old port) and waits until it is ready.
    pub async fn start(&mut self, instance: Instance) -> anyhow::Result<Duration> {
        anyhow::ensure!(
            !self.running.contains_key(&instance),
            "{instance:?} is already running"
        );
        self.spawn(instance)?;
        let http = self.http.clone();
        self.running
            .get_mut(&instance)
            .context("The instance just spawned is gone")?
            .wait_ready(&http)
            .await
    }

    fn take(&mut self, instance: Instance) -> anyhow::Result<ServiceProcess> {
        self.running
            .remove(&instance)
            .with_context(|| format!("{instance:?} is not running"))
    }

    /// `kill -9` of an instance; returns its pid.
    pub async fn kill(&mut self, instance: Instance) -> anyhow::Result<u32> {
        let process = self.take(instance)?;
        let pid = process.pid().unwrap_or_default();
        process.kill().await?;
        Ok(pid)
    }

    /// SIGTERM to an instance; waits until it drained and exited.
    pub async fn terminate(&mut self, instance: Instance) -> anyhow::Result<Stopped> {
        self.take(instance)?.terminate().await
    }

    /// Instances that died on their own (a crash the scenario did not cause).
    pub fn crashed(&mut self) -> Vec<Instance> {
        self.running
            .iter_mut()
            .filter_map(|(instance, process)| (!process.running()).then_some(*instance))
            .collect()
    }

    /// The base URL of a service's first instance.
    pub fn url(&self, service: Service) -> String {
        let port = self.ports.get(&(service, 0)).copied().unwrap_or_default();
        format!("http://127.0.0.1:{port}")
    }

    /// Takes `service`'s database out of reach (or gives it back), the others serving on.
    pub async fn refuse_connections(&self, service: Service, refuse: bool) -> anyhow::Result<()> {
        self.postgres
            .refuse_connections(&self.databases[&service], refuse)
            .await
    }

    /// The suite's pool on a service's database.
    pub fn pool(&self, service: Service) -> &PgPool {
        &self.pools[&service]
    }

    pub fn proxies(&self) -> impl Iterator<Item = &Proxy> {
        self.proxies.values()
    }

    /// Starts clients posting `plan` to the order service, as staff on behalf of the mix's
    /// customers.
    pub fn traffic(&self, plan: Plan) -> Traffic {
        load::start(
            self.http.clone(),
            self.url(Service::Order),
            self.credentials.staff_token().to_owned(),
            plan,
        )
    }

    /// Waits until every running instance answers ready again (after a fault was lifted).
    pub async fn wait_ready(&mut self) -> anyhow::Result<Duration> {
        let started = Instant::now();
        let http = self.http.clone();
        try_join_all(
            self.running
                .values_mut()
                .map(|process| process.wait_ready(&http)),
        )
        .await?;
        Ok(started.elapsed())
    }

    /// Puts the mix's SKUs in the catalog at their prices and their stock on hand, and sets the
    /// broke customer's credit to zero, through the services' APIs.
    async fn stock_up(&mut self) -> anyhow::Result<()> {
        let order = self.url(Service::Order);
        for (sku, price) in mix::catalog() {
            self.put(
                &format!("{order}/products/{sku}"),
                json!({ "name": format!("Product {sku}"), "unit_price_cents": price }),
            )
            .await?;
            self.prices.insert(sku.to_owned(), price);
        }
        let logistics = self.url(Service::Logistics);
        for (sku, on_hand) in mix::initial_stock() {
            self.put(
                &format!("{logistics}/stock/{sku}"),
                json!({ "on_hand": on_hand }),
            )
            .await?;
            self.initial_stock.push((sku.to_owned(), on_hand));
        }
        let billing = self.url(Service::Billing);
        self.put(
            &format!("{billing}/customers/{}", mix::BROKE),
            json!({ "credit_limit_cents": 0 }),
        )
        .await
    }

    async fn put(&self, url: &str, body: serde_json::Value) -> anyhow::Result<()> {
        let response = self
            .http
            .put(url)
            .bearer_auth(self.credentials.staff_token())
            .json(&body)
            .send()
            .await
            .with_context(|| format!("Failed to PUT {url}"))?;
        let status = response.status();
        if !status.is_success() {
            let text = response.text().await.unwrap_or_default();
            anyhow::bail!("PUT {url} answered {status}: {text}");
        }
        Ok(())
    }

    /// Fetches `url` as JSON, as staff.
    pub async fn get_json(&self, url: &str) -> anyhow::Result<serde_json::Value> {
        let response = self
            .http
            .get(url)
            .bearer_auth(self.credentials.staff_token())
            .send()
            .await
            .with_context(|| format!("Failed to GET {url}"))?;
        anyhow::ensure!(
            response.status().is_success(),
            "GET {url} answered {}",
            response.status()
        );
        response
            .json()
            .await
            .with_context(|| format!("GET {url} did not answer JSON"))
    }

    /// Stops every instance (SIGKILL: the verdict is in), drops the databases and the vhost, and
    /// removes the folder unless `keep_dir` (to read the logs of a failed scenario) or
    /// `FAULT_SUITE_KEEP_LOGS` is set.
    pub async fn close(mut self, keep_dir: bool) -> anyhow::Result<()> {
        for (_, process) in std::mem::take(&mut self.running) {
            let _ = process.kill().await;
        }
        for (_, pool) in std::mem::take(&mut self.pools) {
            pool.close().await;
        }
        for database in self.databases.values() {
            self.postgres.drop_database(database).await?;
        }
        self.broker.management.delete_vhost(&self.vhost).await?;
        if !keep_dir && std::env::var_os("FAULT_SUITE_KEEP_LOGS").is_none() {
            leftovers::remove_dir(&self.dir);
        }
        Ok(())
    }
}
