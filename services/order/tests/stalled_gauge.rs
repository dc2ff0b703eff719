//! The `orders_stalled{status}` gauge, in a test binary of its own: the metrics recorder is one
//! per process, and in `tests/api`, where the tests run side by side each with its own service,
//! every service would set the same gauge.

#[allow(dead_code)]
#[path = "api/helpers.rs"]
mod helpers;

use chrono::Utc;
use contracts::billing::PaymentCharged;
use contracts::logistics::{OrderShipped, StockReserved};
use service_kit::testing::eventually;

use crate::helpers::{ORDER_TOTAL, TestApp, spawn_app_with};

/// The gauge's value for `status` on `GET /metrics`, once it has been set.
async fn gauge(app: &TestApp, status: &str) -> Option<f64> {
    let metrics = app.get("/metrics").await.text().await.expect("a text body");
    let series = format!("orders_stalled{{status=\"{status}\"}} ");
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(&series))
        .and_then(|value| value.trim().parse().ok())
}

async fn gauge_reaches(app: &TestApp, status: &str, value: f64) {
    eventually(
        format!("orders_stalled{{status={status}}} at {value}"),
        || async { (gauge(app, status).await == Some(value)).then_some(()) },
    )
    .await;
}

#[tokio::test]
async fn the_gauge_counts_the_stalled_orders_by_status() {
    // Stalled as soon as confirmed: as if the shipment had been lost.
    let app = spawn_app_with(|settings| settings.service.confirmed_deadline_secs = 0).await;
    gauge_reaches(&app, "confirmed", 0.0).await;
    let id = app.submit_order().await;

    let charged = PaymentCharged {
        order_id: id,
        customer_id: "alice".into(),
        amount_cents: ORDER_TOTAL,
    };
    app.publish(&charged, id).await;
    let reserved = StockReserved {
        order_id: id,
        lines: Vec::new(),
    };
    app.publish(&reserved, id).await;
    app.order_when(id, |order| order["status"] == "confirmed")
        .await;

    gauge_reaches(&app, "confirmed", 1.0).await;
    assert_eq!(gauge(&app, "pending").await, Some(0.0));

    let shipped = OrderShipped {
        order_id: id,
        tracking_number: "TRACK-1".into(),
        shipped_at: Utc::now(),
    };
    app.publish(&shipped, id).await;
    gauge_reaches(&app, "confirmed", 0.0).await;
    app.cleanup().await;
}
