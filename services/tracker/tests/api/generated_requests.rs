//! Requests generated from the tracker's OpenAPI document (Schemathesis, see
//! `service_kit::testing::request_generator`), as staff: no 5xx, every answer as documented,
//! every secured operation refusing a request without a token.

use service_kit::testing::generated_requests;

use crate::helpers::{FakeOrders, spawn_app_with, staff_token};

#[tokio::test]
async fn no_request_the_document_generates_gets_a_5xx_or_an_undocumented_answer() {
    // `GET /stalled` asks the order service; without one it would be a (documented) 503, which
    // the generator counts as a server error. The fake lists no stalled order.
    let orders = FakeOrders::start().await;
    let url = orders.url.clone();
    let app = spawn_app_with(|settings| settings.service.orders.url = url).await;
    generated_requests(&app.tracker.address, &staff_token(), &[]).await;
    app.cleanup().await;
    orders.stop().await;
}
