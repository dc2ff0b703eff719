//! What the tests share: logistics running on the kit's harness (its own vhost and database),
//! with a stock policy the tests know and a fast supplier, and the requests of its API.

use std::ops::Deref;

use contracts::order::{CancelReason, OrderCancelled, OrderConfirmed, OrderLine, OrderSubmitted};
use logistics::{LogisticsSettings, Settings};
use serde_json::Value;
use service_kit::testing;
use uuid::Uuid;

/// Units on hand of a new SKU in the tests, whatever the environment says.
pub const DEFAULT_STOCK: i64 = 100;
/// Replenishment threshold in the tests.
pub const THRESHOLD: u32 = 10;
/// Units per replenishment in the tests.
pub const REPLENISH_QUANTITY: u32 = 100;

/// The flow the test driver publishes in.
const FLOW: &str = "test-flow";

/// One running logistics; the kit's harness does the rest (probe, wait, cleanup).
pub struct TestApp(testing::TestApp<LogisticsSettings>);

impl Deref for TestApp {
    type Target = testing::TestApp<LogisticsSettings>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

/// Starts logistics on a fresh vhost and database, with a fast supplier, and waits until it is
/// ready.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// [`spawn_app`] with the test settings changed by `customize` before the start.
pub async fn spawn_app_with(customize: impl FnOnce(&mut Settings)) -> TestApp {
    let app = testing::TestApp::spawn(
        "logistics",
        logistics::DEFAULT_SETTINGS,
        logistics::build,
        |settings| {
            settings.service.default_stock = DEFAULT_STOCK as u32;
            settings.service.replenish_threshold = THRESHOLD;
            settings.service.replenish_quantity = REPLENISH_QUANTITY;
            settings.service.replenish_delay_ms = 200;
            settings.service.supplier_interval_ms = 50;
            customize(settings);
        },
    )
    .await;
    TestApp(app)
}

impl TestApp {
    pub async fn get_stock(&self, sku: &str) -> reqwest::Response {
        self.get(&format!("/stock/{sku}")).await
    }

    pub async fn put_stock(&self, sku: &str, body: &Value) -> reqwest::Response {
        self.put(&format!("/stock/{sku}"), body).await
    }

    /// `PUT /stock/{sku}` with a raw body, for malformed input.
    pub async fn put_stock_raw(&self, sku: &str, body: &'static str) -> reqwest::Response {
        self.put_raw(&format!("/stock/{sku}"), body).await
    }

    /// The stock as `GET` shows it, asserting a 200.
    pub async fn stock(&self, sku: &str) -> Value {
        self.get_json(&format!("/stock/{sku}")).await
    }

    /// Sets the units on hand, asserting a 200.
    pub async fn set_on_hand(&self, sku: &str, on_hand: i64) {
        let response = self
            .put_stock(sku, &serde_json::json!({ "on_hand": on_hand }))
            .await;
        assert_eq!(response.status(), 200);
    }

    /// Publishes `event` as the order service would, with a new message id, which it returns.
    pub async fn publish<E: event_bus::Event>(&self, event: &E) -> Uuid {
        self.0.publish(event, FLOW).await
    }

    /// Stops logistics, then drops its database and the vhost.
    pub async fn cleanup(self) {
        self.0.cleanup().await;
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
