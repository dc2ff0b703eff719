//! What the tests share: a running logistics on its own vhost and database, a driver that
//! publishes order events as the order service would, and probes on what logistics publishes.

use std::time::Duration;

use contracts::order::{CancelReason, OrderCancelled, OrderConfirmed, OrderLine, OrderSubmitted};
use event_bus::Event;
use event_bus::testing::TestBroker;
use lapin::options::{QueueBindOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Channel};
use logistics::{Application, Settings, load_settings};
use serde_json::Value;
use sqlx::PgPool;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// Units on hand of a new SKU in the tests, whatever the environment says.
pub const DEFAULT_STOCK: i64 = 100;
/// Replenishment threshold in the tests.
pub const THRESHOLD: u32 = 10;
/// Units per replenishment in the tests.
pub const REPLENISH_QUANTITY: u32 = 100;

/// How long anything asynchronous may take before a test gives up.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// One running logistics and everything a test needs around it.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    /// A pool on logistics' database, for assertions.
    pub db: PgPool,
    pub broker: TestBroker,
    pub settings: Settings,
    shutdown: CancellationToken,
    task: JoinHandle<anyhow::Result<()>>,
    /// A raw channel on the test vhost, to publish as the order service.
    driver: Channel,
}

/// A queue on the test vhost bound to some of what logistics publishes.
pub struct Probe {
    channel: Channel,
    queue: String,
}

/// Starts logistics on a fresh vhost and database, with a fast supplier, and waits until it is
/// ready.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// [`spawn_app`] with the test settings changed by `customize` before the start.
pub async fn spawn_app_with(customize: impl FnOnce(&mut Settings)) -> TestApp {
    if std::env::var_os("TEST_LOG").is_some() {
        service_kit::telemetry::init(&service_kit::TelemetrySettings {
            level: "logistics=debug,event_bus=debug,info".into(),
            ..Default::default()
        });
    }
    let broker = TestBroker::new().await;
    let mut settings: Settings = load_settings().expect("default settings load");
    settings.application.host = "127.0.0.1".into();
    settings.application.port = 0;
    settings.database.database_name = format!("test_logistics_{}", Uuid::new_v4().simple());
    settings.bus = broker.bus_settings("logistics");
    settings.bus.outbox.poll_interval_ms = 100;
    settings.service.default_stock = DEFAULT_STOCK as u32;
    settings.service.replenish_threshold = THRESHOLD;
    settings.service.replenish_quantity = REPLENISH_QUANTITY;
    settings.service.replenish_delay_ms = 200;
    settings.service.supplier_interval_ms = 50;
    customize(&mut settings);

    let shutdown = CancellationToken::new();
    let application = Application::build(settings.clone(), shutdown.clone())
        .await
        .expect("logistics builds");
    let address = format!("http://127.0.0.1:{}", application.port());
    let task = tokio::spawn(application.run_until_stopped());
    let db = PgPool::connect_with(settings.database.connect_options())
        .await
        .expect("connect to logistics' database");
    let driver = broker.raw_channel().await;
    let app = TestApp {
        address,
        client: reqwest::Client::new(),
        db,
        broker,
        settings,
        shutdown,
        task,
        driver,
    };
    app.wait_until_ready().await;
    app
}

impl TestApp {
    async fn wait_until_ready(&self) {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        loop {
            let ready = self
                .client
                .get(format!("{}/health/ready", self.address))
                .send()
                .await
                .is_ok_and(|response| response.status().is_success());
            if ready {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "logistics was not ready within {DEADLINE:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn get_stock(&self, sku: &str) -> reqwest::Response {
        self.client
            .get(format!("{}/stock/{sku}", self.address))
            .send()
            .await
            .expect("GET /stock/{sku}")
    }

    pub async fn put_stock(&self, sku: &str, body: &Value) -> reqwest::Response {
        self.client
            .put(format!("{}/stock/{sku}", self.address))
            .json(body)
            .send()
            .await
            .expect("PUT /stock/{sku}")
    }

    /// `PUT /stock/{sku}` with a raw body, for malformed input.
    pub async fn put_stock_raw(&self, sku: &str, body: &'static str) -> reqwest::Response {
        self.client
            .put(format!("{}/stock/{sku}", self.address))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("PUT /stock/{sku}")
    }

    /// The stock as `GET` shows it, asserting a 200.
    pub async fn stock(&self, sku: &str) -> Value {
        let response = self.get_stock(sku).await;
        assert_eq!(response.status(), 200);
        response.json().await.expect("stock as JSON")
    }

    /// Sets the units on hand, asserting a 200.
    pub async fn set_on_hand(&self, sku: &str, on_hand: i64) {
        let response = self
            .put_stock(sku, &serde_json::json!({ "on_hand": on_hand }))
            .await;
        assert_eq!(response.status(), 200);
    }

    /// Publishes `event` as the order service would, with a new message id, which it returns.
    pub async fn publish<E: Event>(&self, event: &E) -> String {
        let message_id = Uuid::now_v7().to_string();
        let mut headers = FieldTable::default();
        headers.insert(
            event_bus::message::EVENT_VERSION.into(),
            AMQPValue::LongLongInt(i64::from(E::VERSION)),
        );
        let properties = BasicProperties::default()
            .with_message_id(message_id.as_str().into())
            .with_correlation_id("test-flow".into())
            .with_content_type("application/json".into())
            .with_type(E::ROUTING_KEY.into())
            .with_app_id("test-driver".into())
            .with_delivery_mode(2)
            .with_headers(headers);
        let payload = serde_json::to_vec(event).expect("encode the event");
        self.broker
            .publish_raw(
                &self.driver,
                E::EXCHANGE,
                E::ROUTING_KEY,
                &payload,
                properties,
            )
            .await;
        message_id
    }

    /// Waits until logistics has handled (and committed) the message `message_id`.
    pub async fn wait_handled(&self, message_id: &str) {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        loop {
            let handled: bool = sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM event_bus_inbox WHERE message_id = $1)",
            )
            .bind(message_id)
            .fetch_one(&self.db)
            .await
            .expect("read the inbox");
            if handled {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "message {message_id} was not handled within {DEADLINE:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// A queue bound to exchange `logistics` with `pattern`; bind it before publishing.
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
            .expect("declare the probe queue");
        channel
            .queue_bind(
                queue.as_str().into(),
                contracts::logistics::EXCHANGE.into(),
                pattern.into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .expect("bind the probe queue");
        Probe { channel, queue }
    }

    /// The next message in `probe`, which must be an `E`.
    pub async fn next_event<E: Event>(&self, probe: &Probe) -> E {
        let message = self.broker.take(&probe.channel, &probe.queue).await;
        assert_eq!(
            message.delivery.routing_key.as_str(),
            E::ROUTING_KEY,
            "unexpected event: {}",
            String::from_utf8_lossy(&message.delivery.data)
        );
        E::decode(E::VERSION, &message.delivery.data).expect("decode the published event")
    }

    /// The next message parked in logistics' dead-letter queue.
    pub async fn next_dead_letter(&self) -> lapin::message::BasicGetMessage {
        self.broker.take(&self.driver, "logistics.dead").await
    }

    /// How many events with `routing_key` logistics has staged in its outbox (published or
    /// not): once the causing messages are handled, this is everything it will publish for them.
    pub async fn staged(&self, routing_key: &str) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM event_bus_outbox WHERE routing_key = $1")
            .bind(routing_key)
            .fetch_one(&self.db)
            .await
            .expect("count outbox rows")
    }

    /// Stops logistics, then drops its database and the vhost.
    pub async fn cleanup(self) {
        self.shutdown.cancel();
        tokio::time::timeout(DEADLINE, self.task)
            .await
            .expect("logistics stops in time")
            .expect("logistics task joined")
            .expect("logistics ran without error");
        self.db.close().await;
        service_kit::database::drop_database(&self.settings.database)
            .await
            .expect("drop the test database");
        self.broker.cleanup().await;
    }
}

/// An order for `lines` of `(sku, quantity)`.
pub fn submitted(lines: &[(&str, u32)]) -> OrderSubmitted {
    let lines: Vec<OrderLine> = lines
        .iter()
        .map(|(sku, quantity)| OrderLine {
            sku: (*sku).into(),
            quantity: *quantity,
            unit_price_cents: 1_000,
        })
        .collect();
    OrderSubmitted {
        order_id: Uuid::new_v4(),
        customer_id: "c-42".into(),
        email: "ada@example.com".into(),
        currency: "EUR".into(),
        total_cents: OrderSubmitted::total_of(&lines),
        lines,
        submitted_at: chrono::Utc::now(),
    }
}

/// The cancellation of `order`, as the order service publishes it when payment was declined.
pub fn cancelled(order: &OrderSubmitted) -> OrderCancelled {
    OrderCancelled {
        order_id: order.order_id,
        customer_id: order.customer_id.clone(),
        email: order.email.clone(),
        reason: CancelReason::PaymentDeclined,
        detail: None,
    }
}

/// The confirmation of `order`.
pub fn confirmed(order: &OrderSubmitted) -> OrderConfirmed {
    OrderConfirmed {
        order_id: order.order_id,
        customer_id: order.customer_id.clone(),
        email: order.email.clone(),
        total_cents: order.total_cents,
        currency: order.currency.clone(),
    }
}
