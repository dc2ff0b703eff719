//! What the tests share: unique databases, and a server running on a free port.

use std::time::Duration;

use actix_web::web;
use secrecy::SecretString;
use service_kit::configuration::{ApplicationSettings, DatabaseSettings};
use service_kit::{Readiness, listener, server};
use sqlx::PgPool;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// Settings for a database no other test uses (it need not exist yet).
pub fn unique_database(prefix: &str) -> DatabaseSettings {
    DatabaseSettings {
        host: "127.0.0.1".into(),
        port: 5432,
        username: "postgres".into(),
        password: SecretString::default(),
        database_name: format!("{prefix}_{}", Uuid::new_v4().simple()),
        max_connections: 5,
        acquire_timeout_secs: 5,
        test_before_acquire: false,
        statement_timeout_ms: 30_000,
        ssl_mode: None,
        ssl_root_cert: None,
    }
}

/// A pool on the server's `postgres` database, connected on first use.
pub fn maintenance_pool() -> PgPool {
    let settings = DatabaseSettings {
        database_name: "postgres".into(),
        ..unique_database("unused")
    };
    PgPool::connect_lazy_with(settings.connect_options())
}

/// A pool on a port where nothing listens: every query fails fast.
pub fn unreachable_pool() -> PgPool {
    let closed_port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let settings = DatabaseSettings {
        port: closed_port,
        ..unique_database("unreachable")
    };
    sqlx::postgres::PgPoolOptions::new()
        .acquire_timeout(Duration::from_secs(1))
        .connect_lazy_with(settings.connect_options())
}

/// A running kit server and what stops it.
pub struct TestServer {
    pub address: String,
    pub shutdown: CancellationToken,
    pub task: JoinHandle<std::io::Result<()>>,
    pub client: reqwest::Client,
}

impl TestServer {
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .expect("request sent")
    }

    /// Cancels the token and waits for `serve_until` to return.
    pub async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(15), self.task)
            .await
            .expect("server stopped in time")
            .expect("server task joined")
            .expect("server ran without error");
    }
}

pub fn spawn_server<F>(readiness: Readiness, routes: F) -> TestServer
where
    F: Fn(&mut web::ServiceConfig) + Send + Clone + 'static,
{
    let listener = listener::bind(&ApplicationSettings {
        host: "127.0.0.1".into(),
        port: 0,
    })
    .unwrap();
    let port = listener.local_addr().unwrap().port();
    let http = server::http_server(listener, readiness, routes).unwrap();
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(server::serve_until(http, shutdown.clone()));
    TestServer {
        address: format!("http://127.0.0.1:{port}"),
        shutdown,
        task,
        client: reqwest::Client::new(),
    }
}
