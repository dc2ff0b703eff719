//! A running tracker per test, and one driver bus per producing service that publishes on the
//! test vhost as that service would (same `app_id`, chosen correlation and causation ids).
//! [`RunningTracker`] alone starts a tracker beside the real services (`flow_tests::shop`).
//! [`Probe`] parks dead letters as the bus does and reads queues behind the tracker's back.
//! Every tracker verifies the test process's tokens ([`tokens`]); [`TestApp::get`] and
//! [`TestApp::post`] call it as staff ([`STAFF`]), [`TestApp::get_as`] and [`TestApp::post_as`]
//! with any token or none. [`FakeOrders`] stands in for the order service that `GET /stalled`
//! asks.

use std::{collections::HashMap, path::PathBuf, sync::Mutex, time::Duration};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, dev::ServerHandle, web};

use contracts::billing::PaymentCharged;
use contracts::logistics::StockReserved;
use event_bus::envelope::{
    ATTEMPT, DEAD_LETTER_KIND, ERROR, ORIGINAL_EXCHANGE, ORIGINAL_ROUTING_KEY,
};
use event_bus::testing::{TestBroker, TestDatabase};
use event_bus::{Envelope, Event, EventBus, OutgoingMessage, RunningBus};
use flow_tests::shop::{Options, Service, Shop};
use lapin::{
    BasicProperties, Channel,
    options::{ConfirmSelectOptions, QueueDeclareOptions},
    types::{AMQPValue, FieldTable, LongString},
};
use serde_json::{Value, json};
use service_kit::auth::TokenIssuer;
use service_kit::testing::TestKey;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracker::Settings;
use uuid::Uuid;

/// How long anything awaited may take before the test fails.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// The services the drivers publish as.
const PRODUCERS: [&str; 4] = ["order", "billing", "logistics", "mailer"];

/// The staff member the tests act as: the subject of [`staff_token`], and so the operator the
/// audit log names for their replays.
pub const STAFF: &str = "test-staff";

/// The issuer of the tokens every tracker of the tests accepts (the test process's key).
pub fn tokens() -> &'static TokenIssuer {
    &TestKey::shared().issuer
}

/// A staff token of [`STAFF`].
pub fn staff_token() -> String {
    tokens().staff(STAFF)
}

/// A tracker started in-process, until [`RunningTracker::stop`].
pub struct RunningTracker {
    /// `http://127.0.0.1:<port>`.
    pub address: String,
    /// What it was started with; its database is dropped on stop.
    pub settings: Settings,
    shutdown: CancellationToken,
    task: JoinHandle<anyhow::Result<()>>,
}

impl RunningTracker {
    /// Starts a tracker with `settings` and waits until it is ready.
    pub async fn start(settings: Settings, client: &reqwest::Client) -> Self {
        let shutdown = CancellationToken::new();
        let application = tracker::build(settings.clone(), shutdown.clone())
            .await
            .expect("the tracker builds");
        let address = format!("http://127.0.0.1:{}", application.port());
        let task = tokio::spawn(application.run_until_stopped());
        wait_until_ready(client, &address).await;
        Self {
            address,
            settings,
            shutdown,
            task,
        }
    }

    /// Stops the tracker, checks it ran without error, and drops its database and its audit log.
    pub async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(30), self.task)
            .await
            .expect("the tracker stops in time")
            .expect("the tracker task joins")
            .expect("the tracker ran without error");
        service_kit::database::drop_database(&self.settings.database)
            .await
            .expect("drop the test database");
        // Only a test's own folder (`audit_log_path`), never a configured one.
        let audit_log = &self.settings.service.dead_letters.audit_log;
        if let Some(directory) = audit_log
            .parent()
            .filter(|directory| directory.starts_with(std::env::temp_dir()))
        {
            let _ = std::fs::remove_dir_all(directory);
        }
    }

    /// The records of its audit log (replays from the page), oldest first.
    pub fn audit_records(&self) -> Vec<shopctl::AuditRecord> {
        shopctl::AuditLog::new(&self.settings.service.dead_letters.audit_log)
            .records()
            .expect("read the audit log")
    }
}

/// The order service alone, whose orders are stalled as soon as they are confirmed, with one
/// such order (billing and logistics answered through the drivers, and nobody ships it), and a
/// tracker on its vhost reading its stalled orders.
pub struct StalledShop {
    pub shop: Shop,
    pub tracker: RunningTracker,
    pub drivers: Drivers,
    /// The stalled order.
    pub order_id: String,
}

impl StalledShop {
    pub async fn start() -> Self {
        let mut shop = Shop::new(Options {
            order_confirmed_deadline_secs: Some(0),
            ..Options::default()
        })
        .await;
        shop.start(Service::Order).await;
        let mut settings = test_settings(&shop.broker);
        settings.service.orders.url = shop.url(Service::Order, "");
        let tracker = RunningTracker::start(settings, &shop.http).await;
        let drivers = Drivers::start(&shop.broker).await;
        let order_id = shop.post_order("alice", "SKU-1", 1, 1000).await;
        let id: Uuid = order_id.parse().expect("a UUID order id");
        let charged = PaymentCharged {
            order_id: id,
            customer_id: "alice".into(),
            amount_cents: 1000,
        };
        drivers.publish("billing", &charged, id, None).await;
        let reserved = StockReserved {
            order_id: id,
            lines: Vec::new(),
        };
        drivers.publish("logistics", &reserved, id, None).await;
        Self {
            shop,
            tracker,
            drivers,
            order_id,
        }
    }

    pub async fn cleanup(self) {
        self.tracker.stop().await;
        self.drivers.stop().await;
        self.shop.cleanup().await;
    }
}

pub struct TestApp {
    pub tracker: RunningTracker,
    pub client: reqwest::Client,
    pub broker: TestBroker,
    drivers: Drivers,
}

/// One driver bus per producing service, on a vhost: each publishes as that service would.
pub struct Drivers {
    producers: HashMap<&'static str, RunningBus>,
    database: TestDatabase,
    shutdown: CancellationToken,
}

impl Drivers {
    /// Starts the driver buses on `broker` (with a database of their own for their outboxes).
    pub async fn start(broker: &TestBroker) -> Self {
        let database = TestDatabase::new().await;
        let shutdown = CancellationToken::new();
        let mut producers = HashMap::new();
        for producer in PRODUCERS {
            let bus = EventBus::new(broker.bus_settings(producer), database.pool.clone())
                .start(shutdown.clone())
                .await
                .expect("start a driver bus");
            tokio::time::timeout(DEADLINE, bus.connected())
                .await
                .expect("the driver bus connects");
            producers.insert(producer, bus);
        }
        Self {
            producers,
            database,
            shutdown,
        }
    }

    /// Publishes `event` as `producer` would, in the flow of `order_id`, caused by `cause`;
    /// returns its message id.
    pub async fn publish<E: Event>(
        &self,
        producer: &str,
        event: &E,
        order_id: Uuid,
        cause: Option<Uuid>,
    ) -> Uuid {
        let message =
            OutgoingMessage::new(event, order_id.to_string(), cause.map(|c| c.to_string()))
                .expect("encode the event");
        self.publish_message(producer, &message).await;
        Uuid::parse_str(message.message_id()).expect("a UUID message id")
    }

    /// Publishes `message` as is (a second call publishes a duplicate with the same id).
    pub async fn publish_message(&self, producer: &str, message: &OutgoingMessage) {
        self.producers[producer]
            .publisher()
            .publish_message(message)
            .await
            .expect("publish an event");
    }

    /// Stops the driver buses and drops their database.
    pub async fn stop(self) {
        self.shutdown.cancel();
        for (_, bus) in self.producers {
            bus.stopped().await;
        }
        self.database.cleanup().await;
    }
}

/// The tracker's settings for a test: a port, a database, a vhost and an audit log of its own,
/// and the test process's key to verify tokens with.
pub fn test_settings(broker: &TestBroker) -> Settings {
    let mut settings = tracker::load_settings().expect("the tracker settings load");
    settings.application.port = 0;
    let id = Uuid::new_v4().simple();
    settings.database.database_name = format!("test_tracker_{id}");
    settings.service.dead_letters.audit_log = audit_log_path(&id.to_string());
    settings.bus = broker.bus_settings("tracker");
    settings.auth = TestKey::shared().auth_settings();
    if let Ok(url) = std::env::var("TEST_RABBITMQ_MANAGEMENT_URL") {
        settings.service.management.url = url;
    }
    settings
}

/// An audit log in a folder of its own under the temporary directory (removed on stop).
fn audit_log_path(id: &str) -> PathBuf {
    std::env::temp_dir()
        .join(format!("tracker-audit-{id}"))
        .join("audit.log")
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts a tracker with settings changed by `configure`, and the driver buses.
pub async fn spawn_app_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    let broker = TestBroker::new().await;
    let mut settings = test_settings(&broker);
    configure(&mut settings);

    let client = reqwest::Client::new();
    let tracker = RunningTracker::start(settings, &client).await;
    let drivers = Drivers::start(&broker).await;
    TestApp {
        tracker,
        client,
        broker,
        drivers,
    }
}

/// Polls `GET {address}/health/ready` until it answers 200.
pub async fn wait_until_ready(client: &reqwest::Client, address: &str) {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        let ready = client
            .get(format!("{address}/health/ready"))
            .send()
            .await
            .is_ok_and(|response| response.status().is_success());
        if ready {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{address} was not ready within {DEADLINE:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

impl TestApp {
    /// Publishes `event` as `producer` would (see [`Drivers::publish`]); returns its message id.
    pub async fn publish<E: Event>(
        &self,
        producer: &str,
        event: &E,
        order_id: Uuid,
        cause: Option<Uuid>,
    ) -> Uuid {
        self.drivers.publish(producer, event, order_id, cause).await
    }

    /// Publishes `message` as is (a second call publishes a duplicate with the same id).
    pub async fn publish_message(&self, producer: &str, message: &OutgoingMessage) {
        self.drivers.publish_message(producer, message).await;
    }

    /// A raw channel to the test vhost, to park dead letters and read queues.
    pub async fn probe(&self) -> Probe {
        Probe::open(&self.broker).await
    }

    /// `POST path` with `body` as JSON, as staff: status and JSON body.
    pub async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let response = self.post_as(Some(&staff_token()), path, body).await;
        let status = response.status().as_u16();
        (status, response.json().await.expect("a JSON body"))
    }

    /// `GET path` as staff: status and JSON body.
    pub async fn get(&self, path: &str) -> (u16, Value) {
        let response = self.get_as(Some(&staff_token()), path).await;
        let status = response.status().as_u16();
        (status, response.json().await.expect("a JSON body"))
    }

    /// `GET path` with the bearer `token`, or without any.
    pub async fn get_as(&self, token: Option<&str>, path: &str) -> reqwest::Response {
        let request = self.client.get(format!("{}{path}", self.tracker.address));
        with_token(request, token)
            .send()
            .await
            .unwrap_or_else(|error| panic!("GET {path}: {error}"))
    }

    /// `POST path` with `body` as JSON and the bearer `token`, or without any.
    pub async fn post_as(
        &self,
        token: Option<&str>,
        path: &str,
        body: &Value,
    ) -> reqwest::Response {
        let request = self.client.post(format!("{}{path}", self.tracker.address));
        with_token(request.json(body), token)
            .send()
            .await
            .unwrap_or_else(|error| panic!("POST {path}: {error}"))
    }

    /// Polls `GET /flows/{order_id}` until it lists `count` events; returns the timeline.
    pub async fn flow_with(&self, order_id: Uuid, count: usize) -> Value {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        loop {
            let (status, body) = self.get(&format!("/flows/{order_id}")).await;
            let seen = body["events"].as_array().map_or(0, Vec::len);
            if status == 200 && seen >= count {
                return body;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the flow of {order_id} had {seen} of {count} events after {DEADLINE:?}: {body}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn cleanup(self) {
        self.tracker.stop().await;
        self.drivers.stop().await;
        self.broker.cleanup().await;
    }
}

/// A stand-in for the order service: no order is stalled; the `Authorization` header of every
/// `GET /orders` is kept, to see what the tracker relays.
pub struct FakeOrders {
    /// `http://127.0.0.1:<port>`: the tracker's `service.orders.url`.
    pub url: String,
    authorizations: web::Data<Mutex<Vec<Option<String>>>>,
    server: ServerHandle,
}

impl FakeOrders {
    pub async fn start() -> Self {
        let authorizations = web::Data::new(Mutex::new(Vec::new()));
        let kept = authorizations.clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(kept.clone())
                .route("/orders", web::get().to(Self::orders))
        })
        .workers(1)
        .bind(("127.0.0.1", 0))
        .expect("bind the fake order service");
        let url = format!("http://{}", server.addrs()[0]);
        let server = server.run();
        let handle = server.handle();
        tokio::spawn(server);
        Self {
            url,
            authorizations,
            server: handle,
        }
    }

    async fn orders(
        request: HttpRequest,
        authorizations: web::Data<Mutex<Vec<Option<String>>>>,
    ) -> HttpResponse {
        let authorization = request
            .headers()
            .get("authorization")
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        authorizations
            .lock()
            .expect("the fake's lock")
            .push(authorization);
        HttpResponse::Ok().json(json!({"orders": []}))
    }

    /// The `Authorization` header of every `GET /orders` so far, in order.
    pub fn authorizations(&self) -> Vec<Option<String>> {
        self.authorizations.lock().expect("the fake's lock").clone()
    }

    pub async fn stop(self) {
        self.server.stop(true).await;
    }
}

/// `request` with `Authorization: Bearer <token>` when there is a token.
pub fn with_token(
    request: reqwest::RequestBuilder,
    token: Option<&str>,
) -> reqwest::RequestBuilder {
    match token {
        Some(token) => request.bearer_auth(token),
        None => request,
    }
}

/// The routing keys of a timeline's events, in order.
pub fn routing_keys(flow: &Value) -> Vec<String> {
    flow["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|event| {
            event["routing_key"]
                .as_str()
                .expect("routing key")
                .to_owned()
        })
        .collect()
}

/// A dead letter as the bus parks one in `<service>.dead` (`event-bus/src/consumer/
/// disposition.rs`): the event as its producer published it, with what the consumer adds when
/// it gives up: the original routing key and exchange, the reason, the kind, the spent attempt.
pub struct DeadLetter {
    pub message_id: String,
    pub routing_key: &'static str,
    pub reason: String,
    pub payload: Vec<u8>,
    pub properties: BasicProperties,
}

impl DeadLetter {
    /// `event` of the flow `order_id`, published by `producer`, given up on for `reason` at its
    /// third attempt.
    pub fn of<E: Event>(event: &E, order_id: Uuid, producer: &str, reason: &str) -> Self {
        let envelope = Envelope::new::<E>(order_id.to_string(), None);
        let published = envelope.properties(producer);
        let mut headers = published.headers().clone().unwrap_or_default();
        headers.insert(ORIGINAL_ROUTING_KEY.into(), text(E::ROUTING_KEY));
        headers.insert(ORIGINAL_EXCHANGE.into(), text(E::EXCHANGE));
        headers.insert(ERROR.into(), text(reason));
        headers.insert(DEAD_LETTER_KIND.into(), text("handler"));
        headers.insert(ATTEMPT.into(), AMQPValue::LongLongInt(3));
        Self {
            message_id: envelope.message_id.clone(),
            routing_key: E::ROUTING_KEY,
            reason: reason.to_owned(),
            payload: serde_json::to_vec(event).expect("encode the event"),
            properties: published.with_headers(headers),
        }
    }

    /// A `billing.v1.charged` of a new order, given up on for `reason`.
    pub fn charged(reason: &str) -> Self {
        let order_id = Uuid::now_v7();
        let event = PaymentCharged {
            order_id,
            customer_id: "alice".into(),
            amount_cents: 1999,
        };
        Self::of(&event, order_id, "billing", reason)
    }
}

fn text(value: &str) -> AMQPValue {
    AMQPValue::LongString(LongString::from(value.as_bytes().to_vec()))
}

/// A confirm channel to a test vhost, behind the tracker's back.
pub struct Probe {
    pub channel: Channel,
}

impl Probe {
    pub async fn open(broker: &TestBroker) -> Self {
        let channel = broker.raw_channel().await;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .expect("confirm mode");
        Self { channel }
    }

    /// Declares a durable classic queue (a service's, or its `.dead`).
    pub async fn declare(&self, queue: &str) {
        self.channel
            .queue_declare(
                queue.into(),
                QueueDeclareOptions::durable(),
                FieldTable::default(),
            )
            .await
            .unwrap_or_else(|error| panic!("declare {queue}: {error}"));
    }

    /// Parks `letter` in `queue` through the default exchange, confirmed.
    pub async fn park(&self, broker: &TestBroker, queue: &str, letter: &DeadLetter) {
        broker
            .publish_raw(
                &self.channel,
                "",
                queue,
                &letter.payload,
                letter.properties.clone(),
            )
            .await;
    }
}
