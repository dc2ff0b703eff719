//! The whole shop in-process on a vhost of its own: the tracker first (so its queue sees the
//! first event), then order, billing, logistics and mailer, each with a database of its own.

use std::{collections::HashMap, path::PathBuf};

use event_bus::testing::TestBroker;
use serde_json::Value;
use service_kit::{DatabaseSettings, ServiceApp};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::helpers::{test_settings, wait_until_ready};

pub struct Shop {
    pub broker: TestBroker,
    pub http: reqwest::Client,
    ports: HashMap<&'static str, u16>,
    databases: Vec<DatabaseSettings>,
    tasks: Vec<JoinHandle<anyhow::Result<()>>>,
    shutdown: CancellationToken,
    mail_dir: PathBuf,
}

/// A port, a database and this vhost for `service`.
fn isolate<S>(settings: &mut service_kit::Settings<S>, service: &str, broker: &TestBroker) {
    settings.application.port = 0;
    settings.database.database_name = format!("test_tracker_{service}_{}", Uuid::new_v4().simple());
    settings.bus = broker.bus_settings(service);
}

impl Shop {
    /// Starts the tracker and the four services of the flow, and waits until all are ready.
    pub async fn start() -> Self {
        let broker = TestBroker::new().await;
        let shutdown = CancellationToken::new();
        let mail_dir =
            std::env::temp_dir().join(format!("tracker-mail-{}", Uuid::new_v4().simple()));
        let mut shop = Self {
            http: reqwest::Client::new(),
            ports: HashMap::new(),
            databases: Vec::new(),
            tasks: Vec::new(),
            shutdown,
            mail_dir,
            broker,
        };

        let tracker = test_settings(&shop.broker);
        shop.databases.push(tracker.database.clone());
        let app = tracker::build(tracker, shop.shutdown.clone()).await;
        shop.run("tracker", app).await;

        let mut order = order::load_settings().expect("order settings");
        isolate(&mut order, "order", &shop.broker);
        shop.databases.push(order.database.clone());
        let app = order::build(order, shop.shutdown.clone()).await;
        shop.run("order", app).await;

        let mut billing = billing::load_settings().expect("billing settings");
        isolate(&mut billing, "billing", &shop.broker);
        shop.databases.push(billing.database.clone());
        let app = billing::build(billing, shop.shutdown.clone()).await;
        shop.run("billing", app).await;

        let mut logistics = logistics::load_settings().expect("logistics settings");
        isolate(&mut logistics, "logistics", &shop.broker);
        shop.databases.push(logistics.database.clone());
        let app = logistics::build(logistics, shop.shutdown.clone()).await;
        shop.run("logistics", app).await;

        let mut mailer = mailer::load_settings().expect("mailer settings");
        isolate(&mut mailer, "mailer", &shop.broker);
        mailer.service.data_dir = shop.mail_dir.clone();
        shop.databases.push(mailer.database.clone());
        let app = mailer::build(mailer, shop.shutdown.clone()).await;
        shop.run("mailer", app).await;
        shop
    }

    async fn run(&mut self, service: &'static str, app: anyhow::Result<ServiceApp>) {
        let app = app.unwrap_or_else(|error| panic!("build {service}: {error:?}"));
        self.ports.insert(service, app.port());
        self.tasks.push(tokio::spawn(app.run_until_stopped()));
        wait_until_ready(&self.http, &self.url(service, "")).await;
    }

    /// `http://127.0.0.1:<port of service><path>`.
    pub fn url(&self, service: &str, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.ports[service])
    }

    pub async fn put(&self, service: &str, path: &str, body: Value) {
        let response = self
            .http
            .put(self.url(service, path))
            .json(&body)
            .send()
            .await
            .expect("PUT");
        assert!(
            response.status().is_success(),
            "PUT {path}: {}",
            response.status()
        );
    }

    /// Posts an order of `quantity` × `SKU-1` for `customer`; returns its id.
    pub async fn post_order(&self, customer: &str, quantity: u32) -> Uuid {
        let body = serde_json::json!({
            "customer_id": customer,
            "email": format!("{customer}@example.com"),
            "currency": "EUR",
            "lines": [{"sku": "SKU-1", "quantity": quantity, "unit_price_cents": 1999}],
        });
        let response = self
            .http
            .post(self.url("order", "/orders"))
            .json(&body)
            .send()
            .await
            .expect("POST /orders");
        assert_eq!(response.status(), 202);
        let order: Value = response.json().await.expect("the order as JSON");
        order["id"]
            .as_str()
            .and_then(|id| id.parse().ok())
            .expect("an order id")
    }

    /// Stops every service, then removes the databases, the vhost and the mail folder.
    pub async fn cleanup(self) {
        self.shutdown.cancel();
        for task in self.tasks {
            let _ = task.await;
        }
        for database in &self.databases {
            let _ = service_kit::database::drop_database(database).await;
        }
        let _ = std::fs::remove_dir_all(&self.mail_dir);
        self.broker.cleanup().await;
    }
}
