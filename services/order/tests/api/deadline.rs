//! Orders nobody answered for in time are cancelled with reason `timeout`.

use serde_json::Value;

use crate::helpers::spawn_app_with;
use crate::outcomes::{charged, reserved};

#[tokio::test]
async fn an_order_still_pending_at_its_deadline_is_cancelled_with_reason_timeout() {
    let app = spawn_app_with(|settings| settings.service.deadline_secs = 1).await;
    let cancellations = app.probe("order.*.cancelled").await;
    let id = app.submit_order().await;

    let order = app.order(id, "?wait=20").await;

    assert_eq!(order["status"], "cancelled");
    assert_eq!(order["cancel_reason"], "timeout");
    let history = order["history"].as_array().expect("a history");
    assert_eq!(history.len(), 2);
    assert_eq!(history[1]["status"], "cancelled");
    assert_eq!(history[1]["event"], "timeout");
    assert_eq!(history[1]["message_id"], Value::Null);
    let cancelled = cancellations.next().await;
    assert_eq!(cancelled.correlation_id(), id.to_string());
    assert_eq!(cancelled.payload["order_id"], id.to_string());
    assert_eq!(cancelled.payload["reason"], "timeout");
    app.cleanup().await;
}

#[tokio::test]
async fn answers_arriving_after_the_timeout_do_not_revive_the_order() {
    let app = spawn_app_with(|settings| settings.service.deadline_secs = 1).await;
    let id = app.submit_order().await;
    app.order_when(id, |order| order["status"] == "cancelled")
        .await;

    app.publish(&charged(id), id).await;
    app.publish(&reserved(id), id).await;

    let order = app
        .order_when(id, |order| {
            order["charged_at"].is_string() && order["reserved_at"].is_string()
        })
        .await;
    assert_eq!(order["status"], "cancelled");
    assert_eq!(order["cancel_reason"], "timeout");
    assert_eq!(app.staged("order.v1.confirmed").await, 0);
    app.cleanup().await;
}
