//! Fixtures for tests against the real broker and database, isolated per test.
//!
//! [`TestBroker`] creates a vhost of its own through the management API (so exchanges and queues
//! of parallel tests, and of a running system, never meet); [`TestDatabase`] creates a database
//! of its own. Both are removed by their `cleanup`. Broker and database addresses come from
//! `TEST_AMQP_HOST`/`TEST_AMQP_PORT`/`TEST_RABBITMQ_MANAGEMENT_URL` and `TEST_PG_HOST`/`TEST_PG_PORT`/
//! `TEST_PG_USER`, defaulting to the local services with the guest and postgres users.

use std::time::Duration;

use lapin::{
    BasicProperties, Channel, Connection, ConnectionProperties,
    message::BasicGetMessage,
    options::{BasicAckOptions, BasicGetOptions, BasicPublishOptions},
};
use secrecy::SecretString;
use sqlx::{
    Connection as _, Executor, PgConnection, PgPool,
    postgres::{PgConnectOptions, PgPoolOptions},
};
use uuid::Uuid;

use crate::management::{Management, ManagementError};
use crate::senders::{ANY_EXCHANGE, SenderSettings};
use crate::settings::{BrokerSettings, BusSettings};

fn env_or(key: &str, default: &str) -> String {
    std::env::var(key).unwrap_or_else(|_| default.to_owned())
}

/// A vhost of the local RabbitMQ that belongs to one test.
pub struct TestBroker {
    pub vhost: String,
    management: Management,
    /// Users made by [`Self::user`], deleted with the vhost.
    users: std::sync::Mutex<Vec<String>>,
}

impl TestBroker {
    /// Creates a fresh vhost and lets the guest user use it.
    pub async fn new() -> Self {
        let url = env_or("TEST_RABBITMQ_MANAGEMENT_URL", "http://127.0.0.1:15672");
        let broker = Self {
            vhost: format!("test-{}", Uuid::new_v4().simple()),
            management: Management::new(&url, "guest", SecretString::from("guest"))
                .unwrap_or_else(failed),
            users: std::sync::Mutex::default(),
        };
        broker
            .management
            .create_vhost(&broker.vhost)
            .await
            .unwrap_or_else(failed);
        broker
            .management
            .permit_all(&broker.vhost, "guest")
            .await
            .unwrap_or_else(failed);
        broker
    }

    /// Where this vhost is, for a service's settings.
    pub fn broker_settings(&self) -> BrokerSettings {
        BrokerSettings {
            host: env_or("TEST_AMQP_HOST", "127.0.0.1"),
            port: env_or("TEST_AMQP_PORT", "5672").parse().unwrap_or(5672),
            nodes: Vec::new(),
            username: "guest".into(),
            password: SecretString::from("guest"),
            vhost: self.vhost.clone(),
            heartbeat_secs: 5,
            tls: Default::default(),
        }
    }

    /// Bus settings for `service` on this vhost, with short retry delays and fast reconnects.
    /// Every service of a test connects as `guest`, so `guest` is believed on every exchange; a
    /// test of who may publish what gives its services users of their own ([`Self::user`]) and
    /// empties `senders.trusted`.
    pub fn bus_settings(&self, service: &str) -> BusSettings {
        BusSettings {
            service: service.into(),
            broker: self.broker_settings(),
            retry_delays_ms: vec![50, 100],
            reconnect_min_ms: 50,
            reconnect_max_ms: 500,
            senders: SenderSettings {
                user_prefix: String::new(),
                trusted: [(ANY_EXCHANGE.to_owned(), vec!["guest".to_owned()])].into(),
            },
            ..BusSettings::default()
        }
    }

    /// A raw connection to this vhost as `guest`, for a test to declare or inspect.
    pub async fn raw_connection(&self) -> Connection {
        Connection::connect_uri(
            self.broker_settings().uri(),
            ConnectionProperties::default().with_connection_name("test-probe".into()),
        )
        .await
        .expect("connect to the test vhost")
    }

    /// A raw connection to this vhost, for a test to publish or inspect behind the bus's back.
    pub async fn raw_channel(&self) -> Channel {
        let connection = self.raw_connection().await;
        connection.create_channel().await.expect("open a channel")
    }

    /// Closes every client connection named `name` to this vhost from the broker side, as an
    /// operator would in the management UI; returns how many it closed. The management API lists
    /// a connection only after its first statistics round, so this waits (bounded) for one.
    pub async fn close_connections(&self, name: &str) -> usize {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let closed = self.close_named(name).await;
            if closed > 0 || tokio::time::Instant::now() >= deadline {
                return closed;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn close_named(&self, name: &str) -> usize {
        self.management
            .close_connections_named(&self.vhost, name)
            .await
            .unwrap_or_else(failed)
    }

    /// How many ready messages `queue` holds (see [`queue_state`]).
    pub async fn queue_length(&self, channel: &Channel, queue: &str) -> u32 {
        queue_state(channel, queue).await.messages
    }

    /// Waits (bounded) for a message to appear in `queue` and takes it.
    pub async fn take(&self, channel: &Channel, queue: &str) -> BasicGetMessage {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let message = channel
                .basic_get(queue.into(), BasicGetOptions::default())
                .await
                .expect("basic.get");
            if let Some(message) = message {
                message
                    .delivery
                    .ack(BasicAckOptions::default())
                    .await
                    .expect("ack a taken message");
                return message;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no message arrived in `{queue}` within 20 s"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Publishes raw bytes, as a foreign or broken producer would. The channel's user is
    /// `guest` (from [`Self::raw_channel`]), which the test's services believe: the message is
    /// published as `guest` unless `properties` name a user.
    pub async fn publish_raw(
        &self,
        channel: &Channel,
        exchange: &str,
        routing_key: &str,
        payload: &[u8],
        properties: BasicProperties,
    ) {
        let properties = match properties.user_id() {
            Some(_) => properties,
            None => properties.with_user_id("guest".into()),
        };
        channel
            .basic_publish(
                exchange.into(),
                routing_key.into(),
                BasicPublishOptions::default(),
                payload,
                properties,
            )
            .await
            .expect("publish")
            .await
            .expect("confirm");
    }

    /// Deletes the vhost and everything in it.
    pub async fn cleanup(self) {
        self.management
            .delete_vhost(&self.vhost)
            .await
            .unwrap_or_else(failed);
        let users = std::mem::take(&mut *self.users.lock().expect("users"));
        for user in users {
            self.management
                .delete_user(&user)
                .await
                .unwrap_or_else(failed);
        }
    }

    /// The management API as the administrator that made this vhost.
    pub fn management(&self) -> &Management {
        &self.management
    }

    /// Deletes broker user `name` with the vhost: for users a test made itself.
    pub fn delete_on_cleanup(&self, name: &str) {
        self.users.lock().expect("users").push(name.to_owned());
    }

    /// A broker user of this test (named `<prefix>-<unique>`) allowed everything on its vhost,
    /// and the settings to connect as it; deleted by [`Self::cleanup`].
    pub async fn user(&self, prefix: &str) -> BrokerSettings {
        let name = format!("{prefix}-{}", Uuid::new_v4().simple());
        let password = SecretString::from(Uuid::new_v4().to_string());
        self.management
            .put_user(&name, &password)
            .await
            .unwrap_or_else(failed);
        self.users.lock().expect("users").push(name.clone());
        self.management
            .permit_all(&self.vhost, &name)
            .await
            .unwrap_or_else(failed);
        BrokerSettings {
            username: name,
            password,
            ..self.broker_settings()
        }
    }
}

/// Fails the test with the whole cause chain of a management API error.
fn failed<T>(error: ManagementError) -> T {
    panic!(
        "{:#} (is rabbitmq_management enabled?)",
        anyhow::Error::new(error)
    )
}

/// A PostgreSQL database that belongs to one test.
pub struct TestDatabase {
    pub name: String,
    pub pool: PgPool,
    server: PgConnectOptions,
}

impl TestDatabase {
    /// The local server, from `TEST_PG_*` or the defaults.
    pub fn server() -> PgConnectOptions {
        PgConnectOptions::new()
            .host(&env_or("TEST_PG_HOST", "127.0.0.1"))
            .port(env_or("TEST_PG_PORT", "5432").parse().unwrap_or(5432))
            .username(&env_or("TEST_PG_USER", "postgres"))
            .database("postgres")
    }

    /// Creates a fresh, empty database.
    pub async fn new() -> Self {
        let server = Self::server();
        let name = format!("test_{}", Uuid::new_v4().simple());
        let mut admin = PgConnection::connect_with(&server)
            .await
            .expect("connect to PostgreSQL");
        admin
            .execute(format!(r#"CREATE DATABASE "{name}""#).as_str())
            .await
            .expect("create the test database");
        let pool = PgPoolOptions::new()
            .max_connections(10)
            .connect_with(server.clone().database(&name))
            .await
            .expect("connect to the test database");
        Self { name, pool, server }
    }

    /// Takes the database out of reach, as an outage would for its clients: new connections are
    /// refused and the open ones are ended. The server itself (shared) keeps running.
    pub async fn refuse_connections(&self) {
        self.admin(&format!(
            r#"ALTER DATABASE "{}" WITH ALLOW_CONNECTIONS false"#,
            self.name
        ))
        .await;
        self.admin(&format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{}'",
            self.name
        ))
        .await;
    }

    /// Ends what [`Self::refuse_connections`] began.
    pub async fn accept_connections(&self) {
        self.admin(&format!(
            r#"ALTER DATABASE "{}" WITH ALLOW_CONNECTIONS true"#,
            self.name
        ))
        .await;
    }

    async fn admin(&self, statement: &str) {
        let mut admin = PgConnection::connect_with(&self.server)
            .await
            .expect("connect to PostgreSQL");
        admin
            .execute(statement)
            .await
            .unwrap_or_else(|error| panic!("{statement}: {error}"));
    }

    /// Drops the database.
    pub async fn cleanup(self) {
        self.pool.close().await;
        if let Ok(mut admin) = PgConnection::connect_with(&self.server).await {
            let _ = admin
                .execute(
                    format!(r#"DROP DATABASE IF EXISTS "{}" WITH (FORCE)"#, self.name).as_str(),
                )
                .await;
        }
    }
}

/// What a queue holds and who consumes it, at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueState {
    /// Ready messages (not those delivered and not yet acked).
    pub messages: u32,
    pub consumers: u32,
}

/// Reads `queue`'s state with a passive declare, which fails (and so fails the test) when the
/// queue does not exist.
pub async fn queue_state(channel: &Channel, queue: &str) -> QueueState {
    let state = channel
        .queue_declare(
            queue.into(),
            lapin::options::QueueDeclareOptions {
                passive: true,
                ..Default::default()
            },
            lapin::types::FieldTable::default(),
        )
        .await
        .unwrap_or_else(|error| panic!("queue `{queue}` does not exist: {error}"));
    QueueState {
        messages: state.message_count(),
        consumers: state.consumer_count(),
    }
}

/// Declares `queue`'s own retry path, as a consuming bus does (the exchange `<queue>.retry`
/// binding `queue` by its name), for a test that declares a service's queue by hand: a replay
/// goes through it.
pub async fn declare_retry_path(channel: &Channel, queue: &str) {
    let exchange = crate::topology::retry_exchange(queue);
    channel
        .exchange_declare(
            exchange.as_str().into(),
            lapin::ExchangeKind::Direct,
            lapin::options::ExchangeDeclareOptions {
                durable: true,
                ..Default::default()
            },
            lapin::types::FieldTable::default(),
        )
        .await
        .unwrap_or_else(|error| panic!("declare {exchange}: {error}"));
    channel
        .queue_bind(
            queue.into(),
            exchange.as_str().into(),
            queue.into(),
            lapin::options::QueueBindOptions::default(),
            lapin::types::FieldTable::default(),
        )
        .await
        .unwrap_or_else(|error| panic!("bind {queue} to {exchange}: {error}"));
}
