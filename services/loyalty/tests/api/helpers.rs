//! A running loyalty service per test, on the kit's harness (its own vhost and database).

use std::ops::Deref;

use event_bus::Event;
use serde_json::Value;
use service_kit::testing;
use uuid::Uuid;

/// One running loyalty service; the kit's harness does the rest (wait, cleanup).
pub struct TestApp(testing::TestApp<()>);

impl Deref for TestApp {
    type Target = testing::TestApp<()>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

pub async fn spawn_app() -> TestApp {
    let app =
        testing::TestApp::spawn("loyalty", loyalty::DEFAULT_SETTINGS, loyalty::build, |_| {}).await;
    TestApp(app)
}

impl TestApp {
    /// Publishes `event` with a fresh message id, as its producer would; returns that id.
    pub async fn publish<E: Event>(&self, event: &E) -> Uuid {
        self.0.publish(event, "test-flow").await
    }

    /// `GET /points/{customer_id}`: status and JSON body.
    pub async fn get_points(&self, customer_id: &str) -> (u16, Value) {
        let response = self.get(&format!("/points/{customer_id}")).await;
        let status = response.status().as_u16();
        (status, response.json().await.expect("a JSON body"))
    }

    pub async fn cleanup(self) {
        self.0.cleanup().await;
    }
}
