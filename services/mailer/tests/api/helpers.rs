//! A running mailer per test: its own vhost, database and mail folder, a driver bus that
//! publishes the triggering events, and a probe queue that sees what the mailer publishes.

use std::path::{Path, PathBuf};
use std::time::Duration;

use contracts::mailer::EmailSent;
use event_bus::testing::{TestBroker, TestDatabase};
use event_bus::{Event, EventBus, RunningBus};
use lapin::options::{QueueBindOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use mailer::{Application, Settings};
use serde_json::Value;
use sqlx::PgPool;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// The queue bound to everything on exchange `mailer`, to see `mailer.v1.sent`.
pub const PROBE_QUEUE: &str = "test-probe";

/// How long anything awaited may take before the test fails.
pub const DEADLINE: Duration = Duration::from_secs(20);

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub settings: Settings,
    /// The mailer's own database, to look at its tables.
    pub pool: PgPool,
    pub broker: TestBroker,
    /// A raw channel on the test vhost, holding the probe queue.
    pub probe: lapin::Channel,
    shutdown: CancellationToken,
    task: JoinHandle<anyhow::Result<()>>,
    driver: RunningBus,
    driver_db: TestDatabase,
    driver_shutdown: CancellationToken,
}

/// A mailer writing `.eml` files into a fresh temporary folder.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// A mailer with `configure` applied to the test settings.
pub async fn spawn_app_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    if std::env::var_os("TEST_LOG").is_some() {
        service_kit::telemetry::init(&service_kit::TelemetrySettings::default());
    }
    let broker = TestBroker::new().await;
    let mut settings = mailer::load_settings().expect("the mailer's settings load");
    settings.application.port = 0;
    settings.database.database_name = format!("test_mailer_{}", Uuid::new_v4().simple());
    settings.bus = broker.bus_settings("mailer");
    settings.bus.outbox.poll_interval_ms = 100;
    settings.service.data_dir = temp_path("mailer-eml");
    settings.service.smtp = None;
    configure(&mut settings);

    let shutdown = CancellationToken::new();
    let application = Application::build(settings.clone(), shutdown.clone())
        .await
        .expect("the mailer builds");
    let address = format!("http://127.0.0.1:{}", application.port());
    let task = tokio::spawn(application.run_until_stopped());
    let client = reqwest::Client::new();
    wait_until_ready(&client, &address).await;

    let probe = broker.raw_channel().await;
    probe
        .queue_declare(
            PROBE_QUEUE.into(),
            QueueDeclareOptions::default(),
            FieldTable::default(),
        )
        .await
        .expect("declare the probe queue");
    probe
        .queue_bind(
            PROBE_QUEUE.into(),
            contracts::mailer::EXCHANGE.into(),
            "#".into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .expect("bind the probe queue to the mailer exchange");

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
        .expect("connect to the mailer's database");
    TestApp {
        address,
        client,
        settings,
        pool,
        broker,
        probe,
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
            "the mailer was not ready within {DEADLINE:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A path under the system's temporary folder that no other test uses (not created).
pub fn temp_path(prefix: &str) -> PathBuf {
    std::env::temp_dir().join(format!("{prefix}-{}", Uuid::new_v4().simple()))
}

impl TestApp {
    /// Publishes `event` as another service would, with a fresh message id; returns that id.
    pub async fn publish<E: Event>(&self, event: &E) -> Uuid {
        self.driver
            .publisher()
            .publish(event, "test-flow")
            .await
            .expect("publish a triggering event")
    }

    /// `GET /emails` with `query` appended verbatim (e.g. `?order_id=…`).
    pub async fn get_emails(&self, query: &str) -> reqwest::Response {
        self.client
            .get(format!("{}/emails{query}", self.address))
            .send()
            .await
            .expect("GET /emails")
    }

    /// The emails of `order_id` as `GET /emails` lists them.
    pub async fn emails_of(&self, order_id: Uuid) -> Vec<Value> {
        let response = self.get_emails(&format!("?order_id={order_id}")).await;
        assert_eq!(response.status(), 200);
        response.json().await.expect("a JSON array")
    }

    /// Polls `GET /emails` until `order_id` has `count` emails with a `sent_at`; returns them.
    pub async fn wait_for_sent(&self, order_id: Uuid, count: usize) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        loop {
            let emails = self.emails_of(order_id).await;
            if emails.iter().filter(|e| !e["sent_at"].is_null()).count() >= count {
                return emails;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "expected {count} sent emails for {order_id}, saw {emails:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Polls until the mailer's inbox holds every one of `message_ids`, i.e. each was handled
    /// and committed (or found to be a duplicate of one that was).
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

    /// Polls until the outbox has nothing left to publish.
    pub async fn wait_for_empty_outbox(&self) {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        loop {
            let backlog = event_bus::outbox::backlog(&self.pool)
                .await
                .expect("read the outbox backlog");
            if backlog.pending == 0 {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the outbox still holds {} events",
                backlog.pending
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits for the next `mailer.v1.sent` on the probe queue.
    pub async fn take_sent(&self) -> EmailSent {
        let message = self.broker.take(&self.probe, PROBE_QUEUE).await;
        assert_eq!(
            message.delivery.routing_key.as_str(),
            EmailSent::ROUTING_KEY
        );
        serde_json::from_slice(&message.delivery.data).expect("an EmailSent payload")
    }

    /// How many messages wait in `queue` right now.
    pub async fn queue_length(&self, queue: &str) -> u32 {
        self.probe
            .queue_declare(
                queue.into(),
                QueueDeclareOptions {
                    passive: true,
                    ..QueueDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await
            .expect("passively declare an existing queue")
            .message_count()
    }

    /// The `.eml` files in the mail folder.
    pub fn eml_files(&self) -> Vec<String> {
        read_files(&self.settings.service.data_dir, "eml")
    }

    /// Stops the mailer and the driver, then removes the database, vhost and mail folder.
    pub async fn cleanup(self) {
        self.shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(30), self.task)
            .await
            .expect("the mailer stops in time")
            .expect("the mailer task joins")
            .expect("the mailer ran without error");
        self.driver_shutdown.cancel();
        self.driver.stopped().await;
        self.driver_db.cleanup().await;
        self.pool.close().await;
        service_kit::database::drop_database(&self.settings.database)
            .await
            .expect("drop the test database");
        self.broker.cleanup().await;
        std::fs::remove_dir_all(&self.settings.service.data_dir).ok();
    }
}

/// The contents of the files in `dir` whose extension is `extension`, or of all files when
/// `extension` is empty; nothing if `dir` does not exist.
pub fn read_files(dir: &Path, extension: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| {
            path.is_file()
                && (extension.is_empty() || path.extension().is_some_and(|ext| ext == extension))
        })
        .map(|path| std::fs::read_to_string(path).expect("read a mail file"))
        .collect()
}

/// The header block of a raw email with folded lines unfolded, so a long `Subject` reads as
/// one line whatever the transport did to it.
pub fn headers_of(raw: &str) -> String {
    let normalized = raw.replace("\r\n", "\n");
    let header_block = normalized.split("\n\n").next().unwrap_or_default();
    header_block.replace("\n ", " ").replace("\n\t", " ")
}
