//! A running tracker per test, and one driver bus per producing service that publishes on the
//! test vhost as that service would (same `app_id`, chosen correlation and causation ids).
//! [`RunningTracker`] alone starts a tracker beside the real services (`flow_tests::shop`).

use std::{collections::HashMap, time::Duration};

use event_bus::testing::{TestBroker, TestDatabase};
use event_bus::{Event, EventBus, OutgoingMessage, RunningBus};
use serde_json::Value;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracker::Settings;
use uuid::Uuid;

/// How long anything awaited may take before the test fails.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// The services the drivers publish as.
const PRODUCERS: [&str; 4] = ["order", "billing", "logistics", "mailer"];

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

    /// Stops the tracker, checks it ran without error, and drops its database.
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
    }
}

pub struct TestApp {
    pub tracker: RunningTracker,
    pub client: reqwest::Client,
    pub broker: TestBroker,
    producers: HashMap<&'static str, RunningBus>,
    producers_db: TestDatabase,
    producers_shutdown: CancellationToken,
}

/// The tracker's settings for a test: a port, a database and a vhost of its own.
pub fn test_settings(broker: &TestBroker) -> Settings {
    let mut settings = tracker::load_settings().expect("the tracker settings load");
    settings.application.port = 0;
    settings.database.database_name = format!("test_tracker_{}", Uuid::new_v4().simple());
    settings.bus = broker.bus_settings("tracker");
    if let Ok(url) = std::env::var("TEST_RABBITMQ_MANAGEMENT_URL") {
        settings.service.management.url = url;
    }
    settings
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

    let producers_db = TestDatabase::new().await;
    let producers_shutdown = CancellationToken::new();
    let mut producers = HashMap::new();
    for producer in PRODUCERS {
        let bus = EventBus::new(broker.bus_settings(producer), producers_db.pool.clone())
            .start(producers_shutdown.clone())
            .await
            .expect("start a driver bus");
        tokio::time::timeout(DEADLINE, bus.connected())
            .await
            .expect("the driver bus connects");
        producers.insert(producer, bus);
    }
    TestApp {
        tracker,
        client,
        broker,
        producers,
        producers_db,
        producers_shutdown,
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

    /// `GET path`: status and JSON body.
    pub async fn get(&self, path: &str) -> (u16, Value) {
        let response = self
            .client
            .get(format!("{}{path}", self.tracker.address))
            .send()
            .await
            .unwrap_or_else(|error| panic!("GET {path}: {error}"));
        let status = response.status().as_u16();
        (status, response.json().await.expect("a JSON body"))
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
        self.producers_shutdown.cancel();
        for (_, bus) in self.producers {
            bus.stopped().await;
        }
        self.producers_db.cleanup().await;
        self.broker.cleanup().await;
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
