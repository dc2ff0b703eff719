//! `GET /orders/{id}?wait=[&until=]`: held until the order gets as far as `until` (no longer
//! pending, or final), answered then or when the wait ends.

use serde_json::Value;
use service_kit::testing::eventually;
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::helpers::{TestApp, spawn_app, spawn_app_with};
use crate::outcomes::{charged, reserved};
use crate::shipping::shipped;

/// With the fallback re-read ten minutes away, only a notification can wake a held request.
async fn spawn_app_woken_only_by_notifications() -> TestApp {
    spawn_app_with(|settings| settings.service.wait_recheck_ms = 600_000).await
}

/// Sends `GET /orders/{id}{query}` as staff in a task of its own, to be held while the test
/// goes on.
fn get_in_background(app: &TestApp, id: Uuid, query: &str) -> JoinHandle<Value> {
    let client = app.client.clone();
    let url = format!("{}/orders/{id}{query}", app.address);
    let token = app.staff_token();
    tokio::spawn(async move {
        let response = client
            .get(url)
            .bearer_auth(token)
            .send()
            .await
            .expect("the waiting request is answered");
        assert_eq!(response.status(), 200);
        response.json().await.expect("an order as JSON")
    })
}

/// Charges and reserves order `id`, and waits until it is confirmed.
async fn confirm(app: &TestApp, id: Uuid) {
    app.publish(&charged(id), id).await;
    app.publish(&reserved(id), id).await;
    app.order_when(id, |order| order["status"] == "confirmed")
        .await;
}

#[tokio::test]
async fn a_waiting_get_answers_with_the_order_once_it_is_confirmed() {
    let app = spawn_app_woken_only_by_notifications().await;
    let id = app.submit_order().await;
    let waiting = get_in_background(&app, id, "?wait=10");

    app.publish(&charged(id), id).await;
    app.publish(&reserved(id), id).await;

    let order = waiting.await.expect("the waiting request task joins");
    assert_eq!(order["status"], "confirmed");
    app.cleanup().await;
}

#[tokio::test]
async fn a_wait_beyond_the_cap_answers_with_the_pending_order_when_the_cap_runs_out() {
    let app = spawn_app_with(|settings| settings.service.max_wait_secs = 1).await;
    let id = app.submit_order().await;

    let order = app.order(id, "?wait=3600").await;

    assert_eq!(order["status"], "pending");
    assert_eq!(order["id"], id.to_string());
    app.cleanup().await;
}

#[tokio::test]
async fn a_wait_on_an_order_that_is_no_longer_pending_answers_at_once() {
    let app = spawn_app().await;
    let id = app.submit_order().await;
    confirm(&app, id).await;

    let order = app.order(id, "?wait=30").await;
    let explicitly = app.order(id, "?wait=30&until=confirmed").await;

    assert_eq!(order["status"], "confirmed");
    assert_eq!(explicitly["status"], "confirmed");
    app.cleanup().await;
}

#[tokio::test]
async fn a_wait_until_shipped_answers_with_the_order_once_it_is_shipped() {
    let app = spawn_app_woken_only_by_notifications().await;
    let id = app.submit_order().await;
    confirm(&app, id).await;
    let waiting = get_in_background(&app, id, "?wait=20&until=shipped");

    app.publish(&shipped(id, "TRACK-W"), id).await;

    let order = waiting.await.expect("the waiting request task joins");
    assert_eq!(order["status"], "shipped");
    assert_eq!(order["tracking_number"], "TRACK-W");
    app.cleanup().await;
}

#[tokio::test]
async fn a_wait_until_shipped_holds_a_confirmed_order_until_the_wait_runs_out() {
    let app = spawn_app_with(|settings| settings.service.max_wait_secs = 1).await;
    let id = app.submit_order().await;
    confirm(&app, id).await;

    // Confirmed is not far enough: the answer comes only when the (capped) wait ends.
    let order = app.order(id, "?wait=3600&until=shipped").await;

    assert_eq!(order["status"], "confirmed");
    app.cleanup().await;
}

#[tokio::test]
async fn a_wait_with_an_unknown_until_is_refused_with_a_json_400_naming_until() {
    let app = spawn_app().await;
    let id = app.submit_order().await;

    let response = app
        .get(&format!("/orders/{id}?wait=5&until=delivered"))
        .await;

    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.expect("a JSON error");
    let message = body["message"].as_str().expect("a message");
    assert!(message.contains("`until`"), "{message}");
    assert!(message.contains("delivered"), "{message}");
    app.cleanup().await;
}

#[tokio::test]
async fn many_waiters_each_get_their_own_order_when_it_changes() {
    const ORDERS: usize = 50;
    // Fifty of alice's orders pending at once: more than one customer may have by default.
    let app = spawn_app_with(|settings| {
        settings.service.wait_recheck_ms = 600_000;
        settings.service.max_pending_per_customer = 0;
    })
    .await;
    let mut ids = Vec::with_capacity(ORDERS);
    for _ in 0..ORDERS {
        ids.push(app.submit_order().await);
    }

    // Every order waited on while pending; each one then confirmed. Whether a request is
    // already held when its order moves or not, its answer must be its own order, confirmed.
    let waiting: Vec<_> = ids
        .iter()
        .map(|&id| get_in_background(&app, id, "?wait=30"))
        .collect();
    for &id in &ids {
        app.publish(&charged(id), id).await;
        app.publish(&reserved(id), id).await;
    }
    for (id, waiter) in ids.iter().zip(waiting) {
        let order = waiter.await.expect("the waiting request task joins");
        assert_eq!(order["id"], id.to_string());
        assert_eq!(order["status"], "confirmed", "order {id}");
    }

    // Every order waited on until shipped; shipped in reverse, each with its own tracking
    // number, which its own waiter (and only it) must answer with.
    let waiting: Vec<_> = ids
        .iter()
        .map(|&id| get_in_background(&app, id, "?wait=30&until=shipped"))
        .collect();
    for (n, &id) in ids.iter().enumerate().rev() {
        app.publish(&shipped(id, &format!("TRACK-{n}")), id).await;
    }
    for (n, (id, waiter)) in ids.iter().zip(waiting).enumerate() {
        let order = waiter.await.expect("the waiting request task joins");
        assert_eq!(order["id"], id.to_string());
        assert_eq!(order["status"], "shipped", "order {id}");
        assert_eq!(order["tracking_number"], format!("TRACK-{n}"));
    }
    app.cleanup().await;
}

#[tokio::test]
async fn a_held_request_re_reads_its_order_when_the_status_listener_reconnects() {
    let app = spawn_app_woken_only_by_notifications().await;
    let id = app.submit_order().await;
    let waiting = get_in_background(&app, id, "?wait=20");

    // A change nobody is notified of, as if its notification had been lost with the listener's
    // connection.
    sqlx::query("UPDATE orders SET status = 'confirmed' WHERE id = $1")
        .bind(id)
        .execute(&app.pool)
        .await
        .expect("confirm the order behind the service's back");
    // Then the connection is cut: once the listener listens again, every waiter re-reads.
    eventually("the status listener's connection is cut", || async {
        let cut: i64 = sqlx::query_scalar(
            r#"SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
               WHERE datname = current_database() AND pid <> pg_backend_pid()
                 AND query LIKE 'LISTEN "order_status"%'"#,
        )
        .fetch_one(&app.pool)
        .await
        .expect("terminate the listener's backend");
        (cut > 0).then_some(())
    })
    .await;

    let order = waiting.await.expect("the waiting request task joins");
    assert_eq!(order["status"], "confirmed");
    app.cleanup().await;
}
