//! Points per customer, added up from confirmed orders, each counted once.

use contracts::order::OrderConfirmed;
use serde_json::json;
use uuid::Uuid;

use crate::helpers::spawn_app;

fn confirmed(customer_id: &str, total_cents: i64) -> OrderConfirmed {
    OrderConfirmed {
        order_id: Uuid::new_v4(),
        customer_id: customer_id.into(),
        email: "ada@example.com".into(),
        total_cents,
        currency: "EUR".into(),
    }
}

#[tokio::test]
async fn two_confirmed_orders_add_up_and_a_repeated_one_counts_once() {
    let app = spawn_app().await;
    let first = confirmed("c-42", 3097);
    let second = confirmed("c-42", 1250);
    let other = confirmed("c-7", 999);

    let mut handled = Vec::new();
    for event in [&first, &second, &other, &first] {
        handled.push(app.publish(event).await);
    }
    app.wait_until_handled(&handled).await;

    let (status, body) = app.get_points("c-42").await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"customer_id": "c-42", "points": 30 + 12, "orders": 2})
    );
    let (_, body) = app.get_points("c-7").await;
    assert_eq!(
        body,
        json!({"customer_id": "c-7", "points": 9, "orders": 1})
    );
    app.cleanup().await;
}

#[tokio::test]
async fn a_customer_without_orders_has_no_points() {
    let app = spawn_app().await;
    let (status, body) = app.get_points("nobody").await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"customer_id": "nobody", "points": 0, "orders": 0})
    );
    app.cleanup().await;
}
