//! The shop under test: the real services, started in-process on a vhost of their own and a
//! database each (named per test), so tests run in parallel and beside a running system.
//!
//! It lives in the library rather than in `tests/flow` so that every test that needs the whole
//! shop starts it the same way: the flow tests here, and the tracker's tests, which start the
//! tracker on [`Shop::broker`] between [`Shop::new`] and [`Shop::start_core`] so that the
//! tracker's queue sees the first event.
//!
//! Every service verifies bearer tokens against the test process's key
//! ([`TestKey::shared`]), the one `service_kit::testing::TestApp` configures too, so a service
//! a caller starts beside the shop with the kit's harness accepts the same tokens. [`Shop::get`]
//! and [`Shop::put`] send a staff token; orders are placed by their customers, with theirs.

use std::{collections::HashMap, path::PathBuf, time::Duration};

use event_bus::{testing::TestBroker, topology::Topology};
use reqwest::StatusCode;
use serde_json::Value;
use service_kit::DatabaseSettings;
use service_kit::auth::TokenIssuer;
use service_kit::testing::TestKey;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// How long any awaited outcome may take before the test fails.
const PATIENCE: Duration = Duration::from_secs(40);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    Order,
    Billing,
    Logistics,
    Mailer,
    Loyalty,
}

pub const CORE: [Service; 4] = [
    Service::Order,
    Service::Billing,
    Service::Logistics,
    Service::Mailer,
];

/// Each service's settings, kept so a stopped service restarts on the same database.
enum Config {
    Order(order::Settings),
    Billing(billing::Settings),
    Logistics(logistics::Settings),
    Mailer(mailer::Settings),
    Loyalty(loyalty::Settings),
}

struct Running {
    port: u16,
    /// What the service declared on the broker: its bindings and publications.
    topology: Topology,
    shutdown: CancellationToken,
    task: JoinHandle<anyhow::Result<()>>,
}

/// Knobs a scenario may turn before the shop starts.
pub struct Options {
    pub order_deadline_secs: u64,
    /// How long an order may stay confirmed before the order service reports it as stalled;
    /// `None` keeps the service's default.
    pub order_confirmed_deadline_secs: Option<u64>,
    /// Billing handles one message at a time, so its queue is worked in publish order.
    pub serial_billing: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            order_deadline_secs: 30,
            order_confirmed_deadline_secs: None,
            serial_billing: false,
        }
    }
}

pub struct Shop {
    pub broker: TestBroker,
    pub http: reqwest::Client,
    pub mail_dir: PathBuf,
    configs: HashMap<Service, Config>,
    running: HashMap<Service, Running>,
}

/// Gives a service's settings a database, a vhost and a port of this test's own, and the test
/// key to verify tokens with.
fn isolate<S>(settings: &mut service_kit::Settings<S>, name: &str, broker: &TestBroker) {
    settings.application.port = 0;
    settings.auth = TestKey::shared().auth_settings();
    settings.database.database_name = format!("flow_{name}_{}", Uuid::new_v4().simple());
    settings.bus = broker.bus_settings(name);
    settings.bus.retry_delays_ms = vec![100, 300, 1_000, 2_000, 4_000];
}

impl Shop {
    /// Prepares the five services' settings (none is started yet).
    pub async fn new(options: Options) -> Self {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| "warn".into()),
            )
            .with_test_writer()
            .try_init();
        let broker = TestBroker::new().await;
        let mail_dir = std::env::temp_dir().join(format!("flow-mail-{}", Uuid::new_v4().simple()));

        let mut order = order::load_settings().expect("order settings");
        isolate(&mut order, "order", &broker);
        order.service.deadline_secs = options.order_deadline_secs;
        if let Some(secs) = options.order_confirmed_deadline_secs {
            order.service.confirmed_deadline_secs = secs;
        }
        order.service.sweep_interval_ms = 100;
        order.service.stalled_interval_ms = 100;

        let mut billing = billing::load_settings().expect("billing settings");
        isolate(&mut billing, "billing", &broker);
        if options.serial_billing {
            billing.bus.concurrency = 1;
            billing.bus.prefetch = 1;
        }

        let mut logistics = logistics::load_settings().expect("logistics settings");
        isolate(&mut logistics, "logistics", &broker);
        logistics.service.replenish_delay_ms = 200;
        logistics.service.supplier_interval_ms = 50;

        let mut mailer = mailer::load_settings().expect("mailer settings");
        isolate(&mut mailer, "mailer", &broker);
        mailer.service.data_dir = mail_dir.clone();

        let mut loyalty: loyalty::Settings =
            service_kit::configuration::load("loyalty", loyalty::DEFAULT_SETTINGS)
                .expect("loyalty settings");
        isolate(&mut loyalty, "loyalty", &broker);

        let configs = HashMap::from([
            (Service::Order, Config::Order(order)),
            (Service::Billing, Config::Billing(billing)),
            (Service::Logistics, Config::Logistics(logistics)),
            (Service::Mailer, Config::Mailer(mailer)),
            (Service::Loyalty, Config::Loyalty(loyalty)),
        ]);
        Self {
            broker,
            http: reqwest::Client::new(),
            mail_dir,
            configs,
            running: HashMap::new(),
        }
    }

    /// The four services of the flow, started and ready.
    pub async fn started(options: Options) -> Self {
        let mut shop = Self::new(options).await;
        shop.start_core().await;
        shop
    }

    /// Starts the four services of the flow ([`CORE`]) and waits until each is ready.
    ///
    /// A caller whose own service must be on the bus before the first event (the tracker)
    /// starts it on [`Shop::broker`] after [`Shop::new`] and before this, and stops it before
    /// [`Shop::cleanup`] removes the vhost.
    pub async fn start_core(&mut self) {
        for service in CORE {
            self.start(service).await;
        }
    }

    /// Starts `service` and waits until it reports ready (database and broker).
    pub async fn start(&mut self, service: Service) {
        let shutdown = CancellationToken::new();
        let token = shutdown.clone();
        let built = match &self.configs[&service] {
            Config::Order(s) => order::build(s.clone(), token).await,
            Config::Billing(s) => billing::build(s.clone(), token).await,
            Config::Logistics(s) => logistics::build(s.clone(), token).await,
            Config::Mailer(s) => mailer::build(s.clone(), token).await,
            Config::Loyalty(s) => loyalty::build(s.clone(), token).await,
        };
        let app = built.unwrap_or_else(|error| panic!("build {service:?}: {error:?}"));
        let port = app.port();
        let topology = app.bus().topology().clone();
        let task = tokio::spawn(app.run_until_stopped());
        self.running.insert(
            service,
            Running {
                port,
                topology,
                shutdown,
                task,
            },
        );
        let url = self.url(service, "/health/ready");
        self.eventually(&format!("{service:?} ready"), || async {
            let response = self.http.get(&url).send().await.ok()?;
            (response.status() == StatusCode::OK).then_some(())
        })
        .await;
    }

    /// Stops `service` gracefully and waits until it is down.
    pub async fn stop(&mut self, service: Service) {
        let running = self.running.remove(&service).expect("service is running");
        running.shutdown.cancel();
        running
            .task
            .await
            .expect("service task")
            .expect("service stopped cleanly");
    }

    /// What the running `service` declared on the broker (its wiring, as its startup made it).
    pub fn topology(&self, service: Service) -> &Topology {
        &self.running[&service].topology
    }

    pub fn url(&self, service: Service, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.running[&service].port)
    }

    /// Polls `probe` until it yields a value; fails the test after [`PATIENCE`].
    pub async fn eventually<T, F, Fut>(&self, what: &str, mut probe: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            if let Some(value) = probe().await {
                return value;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "gave up waiting for: {what}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The issuer of tokens the services accept: `shop.tokens().customer("alice")`.
    pub fn tokens(&self) -> &'static TokenIssuer {
        &TestKey::shared().issuer
    }

    /// A staff token (what [`Self::get`] and [`Self::put`] send).
    pub fn staff_token(&self) -> String {
        self.tokens().staff("flow-staff")
    }

    /// A token of `customer`.
    pub fn customer_token(&self, customer: &str) -> String {
        self.tokens().customer(customer)
    }

    /// `GET path` as staff, which must succeed; the JSON body.
    pub async fn get(&self, service: Service, path: &str) -> Value {
        let response = self
            .http
            .get(self.url(service, path))
            .bearer_auth(self.staff_token())
            .send()
            .await
            .expect("GET");
        assert!(
            response.status().is_success(),
            "GET {path}: {}",
            response.status()
        );
        response.json().await.expect("JSON body")
    }

    /// `PUT path` with `body` as staff, which must succeed.
    pub async fn put(&self, service: Service, path: &str, body: Value) {
        let response = self
            .http
            .put(self.url(service, path))
            .bearer_auth(self.staff_token())
            .json(&body)
            .send()
            .await
            .expect("PUT");
        assert!(
            response.status().is_success(),
            "PUT {path}: {}",
            response.status()
        );
    }

    /// Puts `sku` in the order service's catalog at `unit_price_cents`, as staff.
    pub async fn set_price(&self, sku: &str, unit_price_cents: i64) {
        self.put(
            Service::Order,
            &format!("/products/{sku}"),
            serde_json::json!({"name": format!("Product {sku}"), "unit_price_cents": unit_price_cents}),
        )
        .await;
    }

    /// `POST /orders` with `body`, as the holder of `token`.
    pub async fn submit_as(&self, token: &str, body: &Value) -> reqwest::Response {
        self.http
            .post(self.url(Service::Order, "/orders"))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .expect("POST /orders")
    }

    /// Orders `quantity` × `sku` at `unit_price_cents`: the price is put in the catalog first
    /// (as staff), then `customer` orders, with their own token, stating it. Returns the
    /// order's id.
    pub async fn post_order(
        &self,
        customer: &str,
        sku: &str,
        quantity: u32,
        unit_price_cents: i64,
    ) -> String {
        self.set_price(sku, unit_price_cents).await;
        let body = serde_json::json!({
            "email": format!("{customer}@example.com"),
            "currency": "EUR",
            "lines": [{"sku": sku, "quantity": quantity, "unit_price_cents": unit_price_cents}],
        });
        let response = self.submit_as(&self.customer_token(customer), &body).await;
        let status = response.status();
        let order: Value = response.json().await.expect("order JSON");
        assert_eq!(status, StatusCode::ACCEPTED, "POST /orders: {order}");
        order["id"].as_str().expect("order id").to_owned()
    }

    /// Waits until the order's status is `status`; returns the order.
    pub async fn order_reaches(&self, id: &str, status: &str) -> Value {
        let path = format!("/orders/{id}?wait=5");
        self.eventually(&format!("order {id} {status}"), || async {
            let order = self.get(Service::Order, &path).await;
            (order["status"] == status).then_some(order)
        })
        .await
    }

    /// Waits until the mailer lists `count` emails for the order; returns them.
    pub async fn emails(&self, id: &str, count: usize) -> Vec<Value> {
        let path = format!("/emails?order_id={id}");
        self.eventually(&format!("{count} emails for {id}"), || async {
            let emails = self.get(Service::Mailer, &path).await;
            let emails = emails.as_array().cloned().unwrap_or_default();
            (emails.len() >= count).then_some(emails)
        })
        .await
    }

    /// Stops everything and removes the vhost, the databases and the mail folder.
    pub async fn cleanup(mut self) {
        let services: Vec<_> = self.running.keys().copied().collect();
        for service in services {
            self.stop(service).await;
        }
        for config in self.configs.values() {
            let database: &DatabaseSettings = match config {
                Config::Order(s) => &s.database,
                Config::Billing(s) => &s.database,
                Config::Logistics(s) => &s.database,
                Config::Mailer(s) => &s.database,
                Config::Loyalty(s) => &s.database,
            };
            let _ = service_kit::database::drop_database(database).await;
        }
        let _ = std::fs::remove_dir_all(&self.mail_dir);
        self.broker.cleanup().await;
    }
}
