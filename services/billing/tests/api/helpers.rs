//! What the tests share: a running billing on its own vhost and database, a driver that
//! publishes order events as the order service would, and probes on what billing publishes.

use std::time::Duration;

use billing::{Application, Settings, load_settings};
use event_bus::Event;
use event_bus::testing::TestBroker;
use lapin::options::{QueueBindOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Channel};
use serde_json::Value;
use sqlx::PgPool;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// Default credit the tests run with, whatever the environment says.
pub const DEFAULT_CREDIT_CENTS: i64 = 100_000;

/// How long anything asynchronous may take before a test gives up.
const DEADLINE: Duration = Duration::from_secs(20);

/// One running billing and everything a test needs around it.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    /// A pool on billing's database, for assertions.
    pub db: PgPool,
    pub broker: TestBroker,
    pub settings: Settings,
    shutdown: CancellationToken,
    task: JoinHandle<anyhow::Result<()>>,
    /// A raw channel on the test vhost, to publish as the order service.
    driver: Channel,
}

/// A queue on the test vhost bound to some of what billing publishes.
pub struct Probe {
    channel: Channel,
    queue: String,
}

/// Starts billing on a fresh vhost and database and waits until it is ready.
pub async fn spawn_app() -> TestApp {
    if std::env::var_os("TEST_LOG").is_some() {
        service_kit::telemetry::init(&service_kit::TelemetrySettings {
            level: "billing=debug,event_bus=debug,info".into(),
            ..Default::default()
        });
    }
    let broker = TestBroker::new().await;
    let mut settings: Settings = load_settings().expect("default settings load");
    settings.application.host = "127.0.0.1".into();
    settings.application.port = 0;
    settings.database.database_name = format!("test_billing_{}", Uuid::new_v4().simple());
    settings.bus = broker.bus_settings("billing");
    settings.bus.outbox.poll_interval_ms = 100;
    settings.service.default_credit_cents = DEFAULT_CREDIT_CENTS;

    let shutdown = CancellationToken::new();
    let application = Application::build(settings.clone(), shutdown.clone())
        .await
        .expect("billing builds");
    let address = format!("http://127.0.0.1:{}", application.port());
    let task = tokio::spawn(application.run_until_stopped());
    let db = PgPool::connect_with(settings.database.connect_options())
        .await
        .expect("connect to billing's database");
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
                "billing was not ready within {DEADLINE:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn get_customer(&self, id: &str) -> reqwest::Response {
        self.client
            .get(format!("{}/customers/{id}", self.address))
            .send()
            .await
            .expect("GET /customers/{id}")
    }

    pub async fn put_customer(&self, id: &str, body: &Value) -> reqwest::Response {
        self.client
            .put(format!("{}/customers/{id}", self.address))
            .json(body)
            .send()
            .await
            .expect("PUT /customers/{id}")
    }

    /// `PUT /customers/{id}` with a raw body, for malformed input.
    pub async fn put_customer_raw(&self, id: &str, body: &'static str) -> reqwest::Response {
        self.client
            .put(format!("{}/customers/{id}", self.address))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("PUT /customers/{id}")
    }

    /// The customer as `GET` shows it, asserting a 200.
    pub async fn customer(&self, id: &str) -> Value {
        let response = self.get_customer(id).await;
        assert_eq!(response.status(), 200);
        response.json().await.expect("customer as JSON")
    }

    /// Publishes `event` as the order service would, with a new message id, which it returns.
    pub async fn publish<E: Event>(&self, event: &E, correlation_id: &str) -> String {
        let message_id = Uuid::now_v7().to_string();
        self.publish_with_id(event, correlation_id, &message_id)
            .await;
        message_id
    }

    /// Publishes `event` with the given message id (the same id twice is a redelivery, two ids
    /// for the same event a duplicate the inbox cannot catch).
    pub async fn publish_with_id<E: Event>(
        &self,
        event: &E,
        correlation_id: &str,
        message_id: &str,
    ) {
        let mut headers = FieldTable::default();
        headers.insert(
            event_bus::message::EVENT_VERSION.into(),
            AMQPValue::LongLongInt(i64::from(E::VERSION)),
        );
        let properties = BasicProperties::default()
            .with_message_id(message_id.into())
            .with_correlation_id(correlation_id.into())
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
    }

    /// Waits until billing has handled (and committed) the message `message_id`.
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

    /// A queue bound to exchange `billing` with `pattern`; bind it before publishing.
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
                contracts::billing::EXCHANGE.into(),
                pattern.into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .expect("bind the probe queue");
        Probe { channel, queue }
    }

    /// The next message in `probe`, which must be an `E`.
    pub async fn next_event<E: Event + std::fmt::Debug>(&self, probe: &Probe) -> E {
        let message = self.broker.take(&probe.channel, &probe.queue).await;
        assert_eq!(
            message.delivery.routing_key.as_str(),
            E::ROUTING_KEY,
            "unexpected event: {}",
            String::from_utf8_lossy(&message.delivery.data)
        );
        E::decode(E::VERSION, &message.delivery.data).expect("decode the published event")
    }

    /// How many events with `routing_key` billing has staged in its outbox (published or not):
    /// once the causing messages are handled, this is everything it will ever publish for them.
    pub async fn staged(&self, routing_key: &str) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM event_bus_outbox WHERE routing_key = $1")
            .bind(routing_key)
            .fetch_one(&self.db)
            .await
            .expect("count outbox rows")
    }

    /// Stops billing, then drops its database and the vhost.
    pub async fn cleanup(self) {
        self.shutdown.cancel();
        tokio::time::timeout(DEADLINE, self.task)
            .await
            .expect("billing stops in time")
            .expect("billing task joined")
            .expect("billing ran without error");
        self.db.close().await;
        service_kit::database::drop_database(&self.settings.database)
            .await
            .expect("drop the test database");
        self.broker.cleanup().await;
    }
}

/// An order of `customer_id` for one line worth `total_cents`.
pub fn submitted(customer_id: &str, total_cents: i64) -> contracts::order::OrderSubmitted {
    let lines = vec![contracts::order::OrderLine {
        sku: "BOOK-1".into(),
        quantity: 1,
        unit_price_cents: total_cents,
    }];
    contracts::order::OrderSubmitted {
        order_id: Uuid::new_v4(),
        customer_id: customer_id.into(),
        email: "ada@example.com".into(),
        currency: "EUR".into(),
        total_cents: contracts::order::OrderSubmitted::total_of(&lines),
        lines,
        submitted_at: chrono::Utc::now(),
    }
}

/// The cancellation of `order`, as the order service publishes it when stock was short.
pub fn cancelled(order: &contracts::order::OrderSubmitted) -> contracts::order::OrderCancelled {
    contracts::order::OrderCancelled {
        order_id: order.order_id,
        customer_id: order.customer_id.clone(),
        email: order.email.clone(),
        reason: contracts::order::CancelReason::OutOfStock,
        detail: Some("BOOK-1: 1 requested, 0 available".into()),
    }
}
