//! A running loyalty service per test, and a driver bus that publishes as the order service would.

use std::time::Duration;

use event_bus::testing::{TestBroker, TestDatabase};
use event_bus::{Event, EventBus, RunningBus};
use loyalty::Settings;
use serde_json::Value;
use sqlx::PgPool;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// How long anything awaited may take before the test fails.
pub const DEADLINE: Duration = Duration::from_secs(20);

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub settings: Settings,
    /// The service's own database, to look at its inbox.
    pub pool: PgPool,
    pub broker: TestBroker,
    shutdown: CancellationToken,
    task: JoinHandle<anyhow::Result<()>>,
    driver: RunningBus,
    driver_db: TestDatabase,
    driver_shutdown: CancellationToken,
}

pub async fn spawn_app() -> TestApp {
    let broker = TestBroker::new().await;
    let mut settings: loyalty::Settings =
        service_kit::configuration::load("loyalty", loyalty::DEFAULT_SETTINGS)
            .expect("the loyalty settings load");
    settings.application.port = 0;
    settings.database.database_name = format!("test_loyalty_{}", Uuid::new_v4().simple());
    settings.bus = broker.bus_settings("loyalty");

    let shutdown = CancellationToken::new();
    let application = loyalty::build(settings.clone(), shutdown.clone())
        .await
        .expect("the loyalty service builds");
    let address = format!("http://127.0.0.1:{}", application.port());
    let task = tokio::spawn(application.run_until_stopped());
    let client = reqwest::Client::new();
    wait_until_ready(&client, &address).await;

    let driver_db = TestDatabase::new().await;
    let driver_shutdown = CancellationToken::new();
    let driver = EventBus::new(broker.bus_settings("test-driver"), driver_db.pool.clone())
        .start(driver_shutdown.clone())
        .await
        .expect("start the driver bus");
    tokio::time::timeout(DEADLINE, driver.connected())
        .await
        .expect("the driver bus connects");
    let pool = PgPool::connect_with(settings.database.connect_options())
        .await
        .expect("connect to the loyalty database");
    TestApp {
        address,
        client,
        settings,
        pool,
        broker,
        shutdown,
        task,
        driver,
        driver_db,
        driver_shutdown,
    }
}

async fn wait_until_ready(client: &reqwest::Client, address: &str) {
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
            "the loyalty service was not ready within {DEADLINE:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

impl TestApp {
    /// Publishes `event` with a fresh message id, as its producer would; returns that id.
    pub async fn publish<E: Event>(&self, event: &E) -> Uuid {
        self.driver
            .publisher()
            .publish(event, "test-flow")
            .await
            .expect("publish an event")
    }

    /// `GET /points/{customer_id}`: status and JSON body.
    pub async fn get_points(&self, customer_id: &str) -> (u16, Value) {
        let response = self
            .client
            .get(format!("{}/points/{customer_id}", self.address))
            .send()
            .await
            .expect("GET /points");
        let status = response.status().as_u16();
        (status, response.json().await.expect("a JSON body"))
    }

    /// Polls until the service's inbox holds every one of `message_ids` (handled and committed).
    pub async fn wait_until_handled(&self, message_ids: &[Uuid]) {
        let ids: Vec<String> = message_ids.iter().map(Uuid::to_string).collect();
        let deadline = tokio::time::Instant::now() + DEADLINE;
        loop {
            let handled: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM event_bus_inbox WHERE message_id = ANY($1)",
            )
            .bind(&ids)
            .fetch_one(&self.pool)
            .await
            .expect("read the inbox");
            if handled as usize == ids.len() {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "only {handled} of {} messages were handled",
                ids.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn cleanup(self) {
        self.shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(30), self.task)
            .await
            .expect("the service stops in time")
            .expect("the service task joins")
            .expect("the service ran without error");
        self.driver_shutdown.cancel();
        self.driver.stopped().await;
        self.driver_db.cleanup().await;
        self.pool.close().await;
        service_kit::database::drop_database(&self.settings.database)
            .await
            .expect("drop the test database");
        self.broker.cleanup().await;
    }
}
