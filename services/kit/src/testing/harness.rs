//! [`TestApp`]: one service running in-process, isolated from every other test and from a
//! running system, driven over HTTP and the bus, and removed without a trace.

use std::fmt::Display;
use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use event_bus::Event;
use event_bus::testing::TestBroker;
use lapin::Channel;
use lapin::options::ConfirmSelectOptions;
use serde::de::DeserializeOwned;
use serde_json::Value;
use sqlx::PgPool;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::probe::{self, Probe, Published};
use super::{TestKey, eventually, publish};
use crate::auth::TokenIssuer;
use crate::{ServiceApp, Settings, TelemetrySettings, database, telemetry};

/// How long the service may take to stop: in-flight requests and messages finish first.
const STOP_PATIENCE: Duration = Duration::from_secs(30);

/// How long one HTTP request may take (`?wait=` requests are held by design).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// A running service and what a test needs around it.
pub struct TestApp<S> {
    /// `http://127.0.0.1:<port>`.
    pub address: String,
    pub client: reqwest::Client,
    /// The settings the service runs with.
    pub settings: Settings<S>,
    /// A pool of the test's own on the service's database, for assertions.
    pub pool: PgPool,
    /// The test's own vhost.
    pub broker: TestBroker,
    /// Stops the service; [`Self::cleanup`] cancels it.
    pub shutdown: CancellationToken,
    task: JoinHandle<anyhow::Result<()>>,
    /// A raw channel on the vhost, with publisher confirms, to publish as other services do.
    driver: Channel,
    /// Folders the test made for the service, removed by [`Self::cleanup`].
    scratch: Vec<PathBuf>,
}

impl<S> TestApp<S>
where
    S: DeserializeOwned + Default + Clone,
{
    /// Loads `service`'s settings from `defaults` (and the environment, as the service would),
    /// isolates them (a free port on 127.0.0.1, a database of its own, a vhost of its own, a
    /// fast outbox), lets `customize` change them, starts `build` in a task and waits until
    /// `/health/ready` answers 200. Set `TEST_LOG` to see the service's logs.
    pub async fn spawn<F, Fut>(
        service: &str,
        defaults: &str,
        build: F,
        customize: impl FnOnce(&mut Settings<S>),
    ) -> Self
    where
        F: FnOnce(Settings<S>, CancellationToken) -> Fut,
        Fut: Future<Output = anyhow::Result<ServiceApp>>,
    {
        if std::env::var_os("TEST_LOG").is_some() {
            telemetry::init(&TelemetrySettings {
                level: format!("{service}=debug,event_bus=debug,info"),
                ..TelemetrySettings::default()
            });
        }
        let broker = TestBroker::new().await;
        let mut settings = crate::configuration::load::<S>(service, defaults)
            .unwrap_or_else(|error| panic!("the settings of {service} load: {error}"));
        settings.application.host = "127.0.0.1".into();
        settings.application.port = 0;
        settings.database.database_name = format!("test_{service}_{}", Uuid::new_v4().simple());
        settings.bus = broker.bus_settings(service);
        settings.bus.outbox.poll_interval_ms = 100;
        settings.auth = TestKey::shared().auth_settings();
        customize(&mut settings);

        let shutdown = CancellationToken::new();
        let application = build(settings.clone(), shutdown.clone())
            .await
            .unwrap_or_else(|error| panic!("{service} builds: {error:?}"));
        let address = format!("http://127.0.0.1:{}", application.port());
        let task = tokio::spawn(application.run_until_stopped());
        let pool = PgPool::connect_with(settings.database.connect_options())
            .await
            .expect("connect to the service's database");
        let driver = broker.raw_channel().await;
        driver
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .expect("enable publisher confirms on the driver channel");
        let app = Self {
            address,
            client: reqwest::Client::builder()
                .timeout(REQUEST_TIMEOUT)
                .build()
                .expect("an HTTP client"),
            settings,
            pool,
            broker,
            shutdown,
            task,
            driver,
            scratch: Vec::new(),
        };
        let ready = app.url("/health/ready");
        eventually(format!("{service} ready"), || async {
            let response = app.client.get(&ready).send().await.ok()?;
            (response.status() == reqwest::StatusCode::OK).then_some(())
        })
        .await;
        app
    }
}

impl<S> TestApp<S> {
    /// Removes `path` (a folder the test made for the service) at [`Self::cleanup`].
    pub fn remove_on_cleanup(&mut self, path: PathBuf) {
        self.scratch.push(path);
    }

    /// `path` on the service: `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// The issuer of tokens the service accepts: `app.tokens().customer("alice")`.
    pub fn tokens(&self) -> &'static TokenIssuer {
        &TestKey::shared().issuer
    }

    /// A staff token (what [`Self::get`], [`Self::post`] and [`Self::put`] send).
    pub fn staff_token(&self) -> String {
        self.tokens().staff("test-staff")
    }

    /// `GET path` as staff.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.get_as(&self.staff_token(), path).await
    }

    /// `GET path` with the bearer `token`.
    pub async fn get_as(&self, token: &str, path: &str) -> reqwest::Response {
        send(
            self.client.get(self.url(path)).bearer_auth(token),
            "GET",
            path,
        )
        .await
    }

    /// `POST path` with `body` as JSON and the bearer `token`.
    pub async fn post_as(&self, token: &str, path: &str, body: &Value) -> reqwest::Response {
        let request = self.client.post(self.url(path)).bearer_auth(token);
        send(request.json(body), "POST", path).await
    }

    /// `PUT path` with `body` as JSON and the bearer `token`.
    pub async fn put_as(&self, token: &str, path: &str, body: &Value) -> reqwest::Response {
        let request = self.client.put(self.url(path)).bearer_auth(token);
        send(request.json(body), "PUT", path).await
    }

    /// `GET path` as staff, which must answer 200 with a JSON body; returns the body.
    pub async fn get_json(&self, path: &str) -> Value {
        let response = self.get(path).await;
        assert_eq!(response.status(), 200, "GET {path}");
        response.json().await.expect("a JSON body")
    }

    /// `POST path` with `body` as JSON, as staff.
    pub async fn post(&self, path: &str, body: &Value) -> reqwest::Response {
        self.post_as(&self.staff_token(), path, body).await
    }

    /// `PUT path` with `body` as JSON, as staff.
    pub async fn put(&self, path: &str, body: &Value) -> reqwest::Response {
        self.put_as(&self.staff_token(), path, body).await
    }

    /// `PUT path` with `body` sent as it is under a JSON content type: for malformed input.
    pub async fn put_raw(&self, path: &str, body: &'static str) -> reqwest::Response {
        let request = self
            .client
            .put(self.url(path))
            .bearer_auth(self.staff_token());
        let request = request
            .header("content-type", "application/json")
            .body(body);
        send(request, "PUT", path).await
    }

    /// Publishes `event` in the flow `correlation_id` as its producer would, with a fresh
    /// message id, which it returns.
    pub async fn publish<E: Event>(&self, event: &E, correlation_id: impl Display) -> Uuid {
        let message_id = Uuid::now_v7();
        self.publish_with_id(event, correlation_id, message_id)
            .await;
        message_id
    }

    /// Publishes `event` with the message id `message_id`: the same id twice is a redelivery
    /// (the inbox catches it), two ids for one event a duplicate (the domain must).
    pub async fn publish_with_id<E: Event>(
        &self,
        event: &E,
        correlation_id: impl Display,
        message_id: Uuid,
    ) {
        let properties = publish::properties::<E>(&correlation_id.to_string(), message_id);
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

    /// A probe bound with `pattern` on the exchange its first word names; bind it before
    /// whatever makes the service publish.
    pub async fn probe(&self, pattern: &str) -> Probe {
        Probe::bind(&self.broker, pattern).await
    }

    /// Waits until the service has handled (and committed) every one of `message_ids`, or
    /// found it to be a redelivery of one it had: they are all in its inbox.
    pub async fn wait_until_handled(&self, message_ids: &[Uuid]) {
        let ids: Vec<String> = message_ids.iter().map(Uuid::to_string).collect();
        eventually(format!("messages {ids:?} handled"), || async {
            let handled: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM event_bus_inbox WHERE message_id = ANY($1)",
            )
            .bind(&ids)
            .fetch_one(&self.pool)
            .await
            .expect("read the inbox");
            (handled as usize == ids.len()).then_some(())
        })
        .await;
    }

    /// How many events with `routing_key` the service has staged in its outbox, published or
    /// not: once the causing messages are handled, everything it will publish for them.
    pub async fn staged(&self, routing_key: &str) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM event_bus_outbox WHERE routing_key = $1")
            .bind(routing_key)
            .fetch_one(&self.pool)
            .await
            .expect("count outbox rows")
    }

    /// Waits until the outbox relay has published everything staged that some queue takes (an
    /// event no queue is bound to yet waits in the outbox for one).
    pub async fn outbox_flushed(&self) {
        eventually("the outbox flushed", || async {
            let backlog = event_bus::outbox::backlog(&self.pool)
                .await
                .expect("read the outbox backlog");
            (backlog.pending == backlog.waiting_for_subscribers).then_some(())
        })
        .await;
    }

    /// How many messages wait in `queue` (which must exist) right now.
    pub async fn queue_length(&self, queue: &str) -> u32 {
        probe::queue_length(&self.driver, queue).await
    }

    /// The next message parked in the service's dead-letter queue (waiting for it, bounded).
    pub async fn next_dead_letter(&self) -> Published {
        let queue = event_bus::topology::dead_letter_queue(&event_bus::topology::service_queue(
            &self.settings.bus.service,
        ));
        probe::take(&self.driver, &queue).await
    }

    /// Stops the service (it must stop cleanly and in time), then removes its database, the
    /// vhost and the folders made for it.
    pub async fn cleanup(self) {
        self.shutdown.cancel();
        tokio::time::timeout(STOP_PATIENCE, self.task)
            .await
            .expect("the service stops in time")
            .expect("the service task joins")
            .expect("the service ran without error");
        self.pool.close().await;
        database::drop_database(&self.settings.database)
            .await
            .expect("drop the test database");
        self.broker.cleanup().await;
        for path in self.scratch {
            std::fs::remove_dir_all(path).ok();
        }
    }
}

/// Sends `request`; a failure to get any answer fails the test, naming the request.
async fn send(request: reqwest::RequestBuilder, method: &str, path: &str) -> reqwest::Response {
    request
        .send()
        .await
        .unwrap_or_else(|error| panic!("{method} {path}: {error}"))
}
