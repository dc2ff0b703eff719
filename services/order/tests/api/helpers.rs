//! What the tests share: the order service running on the kit's harness (its own vhost and
//! database) with the products of a valid submission in its catalog, that submission, and the
//! requests of its API (as staff unless a token is given).

use std::ops::Deref;
use std::time::Duration;

use order::{OrderSettings, Settings};
use serde_json::{Value, json};
use service_kit::testing::{self, eventually};
use uuid::Uuid;

/// A running order service; the kit's harness does the rest (publish, probe, wait, cleanup).
pub struct TestApp(testing::TestApp<OrderSettings>);

impl Deref for TestApp {
    type Target = testing::TestApp<OrderSettings>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

/// Starts the service with test settings, `customize` may change them (say, a short deadline),
/// and puts the products of [`order_body`] in its catalog ([`CATALOG`]).
pub async fn spawn_app_with(customize: impl FnOnce(&mut Settings)) -> TestApp {
    let app = testing::TestApp::spawn("order", order::DEFAULT_SETTINGS, order::build, |settings| {
        settings.database.max_connections = 10;
        settings.service.sweep_interval_ms = 50;
        settings.service.stalled_interval_ms = 50;
        settings.service.wait_recheck_ms = 500;
        customize(settings);
    })
    .await;
    let app = TestApp(app);
    app.put_products(CATALOG).await;
    app
}

/// Starts the service with the test settings as they are.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// The products [`order_body`] orders, at the prices its lines state: every app starts with
/// them in its catalog.
pub const CATALOG: &[(&str, i64)] = &[("SKU-1", 1999), ("SKU-2", 500)];

/// A valid submission, as staff send it: for a customer (`alice`), at the catalog's prices.
pub fn order_body() -> Value {
    json!({
        "customer_id": "alice",
        "email": "alice@example.com",
        "currency": "EUR",
        "lines": [
            {"sku": "SKU-1", "quantity": 2, "unit_price_cents": 1999},
            {"sku": "SKU-2", "quantity": 1, "unit_price_cents": 500}
        ]
    })
}

/// The total of [`order_body`].
pub const ORDER_TOTAL: i64 = 2 * 1999 + 500;

/// [`order_body`] as a customer sends it: no `customer_id` (the token names them).
pub fn own_order_body() -> Value {
    let mut body = order_body();
    body.as_object_mut()
        .expect("an object")
        .remove("customer_id");
    body
}

/// The id of the order a 202 answers, and whether it was a replay (`Idempotent-Replayed`).
pub async fn accepted(response: reqwest::Response) -> (Uuid, bool) {
    assert_eq!(response.status(), 202);
    let replayed = response
        .headers()
        .get("idempotent-replayed")
        .expect("an Idempotent-Replayed header")
        == "true";
    let order: Value = response.json().await.expect("an order as JSON");
    let id = order["id"]
        .as_str()
        .and_then(|id| id.parse().ok())
        .expect("the order has a UUID id");
    (id, replayed)
}

impl TestApp {
    /// `POST /orders` as staff, to be completed (body, headers) by the test.
    pub fn post_orders(&self) -> reqwest::RequestBuilder {
        self.client
            .post(self.url("/orders"))
            .bearer_auth(self.staff_token())
    }

    /// Puts each `(sku, unit_price_cents)` in the catalog, as staff, named after its SKU.
    pub async fn put_products(&self, products: &[(&str, i64)]) {
        for &(sku, unit_price_cents) in products {
            let body =
                json!({"name": format!("Product {sku}"), "unit_price_cents": unit_price_cents});
            let response = self.put(&format!("/products/{sku}"), &body).await;
            assert!(
                response.status().is_success(),
                "PUT /products/{sku}: {}",
                response.status()
            );
        }
    }

    /// `POST /orders` with `body` and `Idempotency-Key: key`, with the bearer `token`.
    pub async fn post_order_as(&self, token: &str, body: &Value, key: &str) -> reqwest::Response {
        self.client
            .post(self.url("/orders"))
            .bearer_auth(token)
            .header("Idempotency-Key", key)
            .json(body)
            .send()
            .await
            .expect("POST /orders")
    }

    pub async fn post_order(&self, body: &Value) -> reqwest::Response {
        self.post("/orders", body).await
    }

    /// Submits [`order_body`], checks it was accepted, and returns the order's id.
    pub async fn submit_order(&self) -> Uuid {
        let response = self.post_order(&order_body()).await;
        assert_eq!(response.status(), 202);
        let order: Value = response.json().await.expect("an order as JSON");
        order["id"]
            .as_str()
            .and_then(|id| id.parse().ok())
            .expect("the order has a UUID id")
    }

    /// `GET /orders/{id}` (with `query`, e.g. `?wait=10`), expecting a 200.
    pub async fn order(&self, id: Uuid, query: &str) -> Value {
        self.get_json(&format!("/orders/{id}{query}")).await
    }

    /// Polls the order until `done` holds for it (bounded).
    pub async fn order_when(&self, id: Uuid, done: impl Fn(&Value) -> bool) -> Value {
        eventually(format!("order {id} in the expected state"), || async {
            let order = self.order(id, "").await;
            done(&order).then_some(order)
        })
        .await
    }

    /// `GET /orders?stalled=true`: the ids and statuses of the stalled orders, as listed.
    pub async fn stalled(&self) -> Vec<Value> {
        let body = self.get_json("/orders?stalled=true").await;
        body["orders"]
            .as_array()
            .cloned()
            .expect("a list of orders")
    }

    /// Polls `GET /orders?stalled=true` until `done` holds for the list (bounded).
    pub async fn stalled_when(&self, what: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        eventually(format!("stalled orders: {what}"), || async {
            let stalled = self.stalled().await;
            done(&stalled).then_some(stalled)
        })
        .await
    }

    /// Submits [`order_body`] with an `Idempotency-Key`.
    pub async fn post_order_with_key(&self, key: &str) -> reqwest::Response {
        self.post_orders()
            .header("Idempotency-Key", key)
            .json(&order_body())
            .send()
            .await
            .expect("POST /orders")
    }

    /// Makes the order `by` older, as if it had been created that long before.
    pub async fn age_order(&self, id: Uuid, by: Duration) {
        sqlx::query(
            "UPDATE orders SET created_at = created_at - make_interval(secs => $2) WHERE id = $1",
        )
        .bind(id)
        .bind(by.as_secs_f64())
        .execute(&self.pool)
        .await
        .expect("age an order");
    }

    /// The idempotency key the order still holds.
    pub async fn idempotency_key_of(&self, id: Uuid) -> Option<String> {
        sqlx::query_scalar("SELECT idempotency_key FROM orders WHERE id = $1")
            .bind(id)
            .fetch_one(&self.pool)
            .await
            .expect("read an order's idempotency key")
    }

    pub async fn order_count(&self) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM orders")
            .fetch_one(&self.pool)
            .await
            .expect("count orders")
    }

    /// Stops the service, and removes the database and the vhost.
    pub async fn cleanup(self) {
        self.0.cleanup().await;
    }
}
