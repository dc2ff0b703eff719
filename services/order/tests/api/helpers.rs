//! What the tests share: a running order service on a fresh vhost and database, a bus to play
//! billing and logistics, probe queues to see what the service publishes, request helpers.

use std::time::Duration;

use event_bus::testing::{TestBroker, TestDatabase};
use event_bus::{Event, EventBus, RunningBus};
use lapin::options::{QueueBindOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel};
use order::{Application, Settings};
use serde_json::{Value, json};
use service_kit::configuration::{LogFormat, TelemetrySettings};
use sqlx::PgPool;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// How long anything a test waits for may take before the test fails.
const PATIENCE: Duration = Duration::from_secs(20);

/// A running order service and what a test needs around it.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub address: String,
    pub client: reqwest::Client,
    pub settings: Settings,
    /// The service's own database, for assertions.
    pub pool: PgPool,
    pub broker: TestBroker,
    pub shutdown: CancellationToken,
    task: JoinHandle<anyhow::Result<()>>,
    driver: Option<Driver>,
}

/// The test's stand-in for billing and logistics: a bus publishing on the same vhost, with a
/// database of its own so its outbox relay never touches the service's outbox.
struct Driver {
    bus: RunningBus,
    db: TestDatabase,
}

/// Starts the service with test settings; `customize` may change them (say, a short deadline).
pub async fn spawn_app_with(customize: impl FnOnce(&mut Settings)) -> TestApp {
    if std::env::var_os("TEST_LOG").is_some() {
        service_kit::telemetry::init(&TelemetrySettings {
            level: "info".into(),
            format: LogFormat::Pretty,
        });
    }
    let broker = TestBroker::new().await;
    let mut settings = order::load_settings().expect("the order settings load");
    settings.application.host = "127.0.0.1".into();
    settings.application.port = 0;
    settings.database.database_name = format!("test_order_{}", Uuid::new_v4().simple());
    settings.database.max_connections = 10;
    settings.bus = broker.bus_settings("order");
    settings.bus.outbox.poll_interval_ms = 100;
    settings.service.sweep_interval_ms = 50;
    settings.service.wait_recheck_ms = 500;
    customize(&mut settings);

    let shutdown = CancellationToken::new();
    let application = Application::build(settings.clone(), shutdown.clone())
        .await
        .expect("the application builds");
    let address = format!("http://127.0.0.1:{}", application.port());
    let task = tokio::spawn(application.run_until_stopped());
    let pool = PgPool::connect_with(settings.database.connect_options())
        .await
        .expect("connect to the service's database");
    let app = TestApp {
        address,
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("an HTTP client"),
        settings,
        pool,
        broker,
        shutdown,
        task,
        driver: None,
    };
    app.wait_until_ready().await;
    app
}

/// Starts the service with the test settings as they are.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// A valid submission.
pub fn order_body() -> Value {
    json!({
        "customer_id": "alice",
        "email": "alice@example.com",
        "currency": "EUR",
        "lines": [
            {"sku": "SKU-1", "quantity": 2, "unit_price_cents": 1999},
            {"sku": "SKU-2", "quantity": 1, "unit_price_cents": 500}
        ]
    })
}

/// The total of [`order_body`].
pub const ORDER_TOTAL: i64 = 2 * 1999 + 500;

impl TestApp {
    async fn wait_until_ready(&self) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let ready = self
                .client
                .get(format!("{}/health/ready", self.address))
                .send()
                .await
                .is_ok_and(|response| response.status() == reqwest::StatusCode::OK);
            if ready {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the service was not ready within {PATIENCE:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn post_orders(&self) -> reqwest::RequestBuilder {
        self.client.post(format!("{}/orders", self.address))
    }

    pub async fn post_order(&self, body: &Value) -> reqwest::Response {
        self.post_orders()
            .json(body)
            .send()
            .await
            .expect("POST /orders")
    }

    /// Submits [`order_body`], checks it was accepted, and returns the order's id.
    pub async fn submit_order(&self) -> Uuid {
        let response = self.post_order(&order_body()).await;
        assert_eq!(response.status(), 202);
        let order: Value = response.json().await.expect("an order as JSON");
        order["id"]
            .as_str()
            .and_then(|id| id.parse().ok())
            .expect("the order has a UUID id")
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .expect("GET")
    }

    /// `GET /orders/{id}` (with `query`, e.g. `?wait=10`), expecting a 200.
    pub async fn order(&self, id: Uuid, query: &str) -> Value {
        let response = self.get(&format!("/orders/{id}{query}")).await;
        assert_eq!(response.status(), 200);
        response.json().await.expect("an order as JSON")
    }

    /// Polls the order until `done` holds for it (bounded).
    pub async fn order_when(&self, id: Uuid, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let order = self.order(id, "").await;
            if done(&order) {
                return order;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the order never reached the expected state: {order:#}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Publishes `event` on the test vhost as another service would, in the flow of `order_id`;
    /// returns the message id.
    pub async fn publish<E: Event>(&mut self, event: &E, order_id: Uuid) -> Uuid {
        if self.driver.is_none() {
            self.driver = Some(self.start_driver().await);
        }
        let driver = self.driver.as_ref().expect("the driver started");
        driver
            .bus
            .publisher()
            .publish(event, &order_id.to_string())
            .await
            .expect("the event is published and confirmed")
    }

    async fn start_driver(&self) -> Driver {
        use contracts::billing::{PaymentCharged, PaymentDeclined};
        use contracts::logistics::{OrderShipped, OutOfStock, StockReserved};
        let db = TestDatabase::new().await;
        let bus = EventBus::new(self.broker.bus_settings("test-driver"), db.pool.clone())
            .publishes::<PaymentCharged>()
            .publishes::<PaymentDeclined>()
            .publishes::<StockReserved>()
            .publishes::<OutOfStock>()
            .publishes::<OrderShipped>()
            .start(self.shutdown.clone())
            .await
            .expect("the driver bus starts");
        tokio::time::timeout(PATIENCE, bus.connected())
            .await
            .expect("the driver bus connects");
        Driver { bus, db }
    }

    /// A queue on the test vhost bound to `pattern` on the `order` exchange: what the service
    /// publishes from now on under that pattern lands there.
    pub async fn probe(&self, pattern: &str) -> Probe {
        let channel = self.broker.raw_channel().await;
        let queue = format!("probe-{}", Uuid::new_v4().simple());
        channel
            .queue_declare(
                queue.as_str().into(),
                QueueDeclareOptions::default(),
                FieldTable::default(),
            )
            .await
            .expect("declare a probe queue");
        channel
            .queue_bind(
                queue.as_str().into(),
                contracts::order::EXCHANGE.into(),
                pattern.into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .expect("bind the probe queue");
        Probe { channel, queue }
    }

    /// How many outbox rows with `routing_key` the service staged.
    pub async fn staged(&self, routing_key: &str) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM event_bus_outbox WHERE routing_key = $1")
            .bind(routing_key)
            .fetch_one(&self.pool)
            .await
            .expect("count outbox rows")
    }

    /// Waits (bounded) until the relay has published everything staged.
    pub async fn outbox_flushed(&self) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let backlog = event_bus::outbox::backlog(&self.pool)
                .await
                .expect("read the outbox backlog");
            if backlog.pending == 0 {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the outbox was not flushed: {backlog:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn order_count(&self) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM orders")
            .fetch_one(&self.pool)
            .await
            .expect("count orders")
    }

    /// Stops the service and the driver, and removes the database(s) and the vhost.
    pub async fn cleanup(self) {
        self.shutdown.cancel();
        tokio::time::timeout(PATIENCE, self.task)
            .await
            .expect("the service stops in time")
            .expect("the service task joins")
            .expect("the service ran without error");
        if let Some(driver) = self.driver {
            driver.bus.stopped().await;
            driver.db.cleanup().await;
        }
        self.pool.close().await;
        service_kit::database::drop_database(&self.settings.database)
            .await
            .expect("drop the test database");
        self.broker.cleanup().await;
    }
}

/// A probe queue and the channel it was declared on.
pub struct Probe {
    channel: Channel,
    queue: String,
}

/// A message the service published.
pub struct Published {
    pub routing_key: String,
    pub properties: BasicProperties,
    pub payload: Value,
}

impl Published {
    pub fn correlation_id(&self) -> String {
        self.properties
            .correlation_id()
            .as_ref()
            .map(|id| id.to_string())
            .unwrap_or_default()
    }
}

impl Probe {
    /// Takes the next message (waiting, bounded).
    pub async fn next(&self, app: &TestApp) -> Published {
        let message = app.broker.take(&self.channel, &self.queue).await;
        Published {
            routing_key: message.delivery.routing_key.to_string(),
            payload: serde_json::from_slice(&message.delivery.data).expect("a JSON payload"),
            properties: message.delivery.properties,
        }
    }

    /// How many messages wait in the probe queue right now.
    pub async fn waiting(&self) -> u32 {
        self.channel
            .queue_declare(
                self.queue.as_str().into(),
                QueueDeclareOptions {
                    passive: true,
                    ..QueueDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await
            .expect("the probe queue exists")
            .message_count()
    }
}
