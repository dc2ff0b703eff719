//! What the tests share: billing running on the kit's harness (its own vhost and database),
//! with a default credit the tests know, and the requests of billing's API.

use std::ops::Deref;

use billing::BillingSettings;
use serde_json::Value;
use service_kit::testing;
use uuid::Uuid;

/// Default credit the tests run with, whatever the environment says.
pub const DEFAULT_CREDIT_CENTS: i64 = 100_000;

/// One running billing; the kit's harness does the rest (publish, probe, wait, cleanup).
pub struct TestApp(testing::TestApp<BillingSettings>);

impl Deref for TestApp {
    type Target = testing::TestApp<BillingSettings>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

/// Starts billing on a fresh vhost and database and waits until it is ready.
pub async fn spawn_app() -> TestApp {
    TestApp(
        testing::TestApp::spawn("billing", billing::DEFAULT_SETTINGS, billing::build, |s| {
            s.service.default_credit_cents = DEFAULT_CREDIT_CENTS;
        })
        .await,
    )
}

impl TestApp {
    pub async fn get_customer(&self, id: &str) -> reqwest::Response {
        self.get(&format!("/customers/{id}")).await
    }

    pub async fn put_customer(&self, id: &str, body: &Value) -> reqwest::Response {
        self.put(&format!("/customers/{id}"), body).await
    }

    /// `PUT /customers/{id}` with a raw body, for malformed input.
    pub async fn put_customer_raw(&self, id: &str, body: &'static str) -> reqwest::Response {
        self.put_raw(&format!("/customers/{id}"), body).await
    }

    /// The customer as `GET` shows it, asserting a 200.
    pub async fn customer(&self, id: &str) -> Value {
        self.get_json(&format!("/customers/{id}")).await
    }

    /// Stops billing, then drops its database and the vhost.
    pub async fn cleanup(self) {
        self.0.cleanup().await;
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
