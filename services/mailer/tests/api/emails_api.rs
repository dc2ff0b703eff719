//! `GET /emails`: its answers to good and bad queries.

use contracts::order::OrderConfirmed;
use serde_json::Value;
use uuid::Uuid;

use crate::helpers::spawn_app;

#[tokio::test]
async fn get_emails_with_an_order_id_that_is_not_a_uuid_returns_a_400_json_error() {
    let app = spawn_app().await;
    for query in ["?order_id=not-a-uuid", "?order_id=", "?order_id=123"] {
        let response = app.get_emails(query).await;
        assert_eq!(response.status(), 400, "{query}");
        let body: Value = response.json().await.expect("a JSON error body");
        assert_eq!(body["error"], "bad_request", "{query}");
        assert!(body["message"].is_string(), "{query}");
    }
    app.cleanup().await;
}

#[tokio::test]
async fn get_emails_of_an_order_without_emails_returns_an_empty_list() {
    let app = spawn_app().await;
    let emails = app.emails_of(Uuid::new_v4()).await;
    assert!(emails.is_empty());
    app.cleanup().await;
}

#[tokio::test]
async fn get_emails_without_an_order_id_lists_the_latest_emails() {
    let app = spawn_app().await;
    let response = app.get_emails("").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Vec<Value>>().await.unwrap().len(), 0);

    let orders = [Uuid::new_v4(), Uuid::new_v4()];
    for order_id in orders {
        app.publish(&OrderConfirmed {
            order_id,
            customer_id: "c-1".into(),
            email: "eve@example.com".into(),
            total_cents: 100,
            currency: "EUR".into(),
        })
        .await;
        app.wait_for_sent(order_id, 1).await;
    }

    let emails: Vec<Value> = app.get_emails("").await.json().await.unwrap();
    let listed: Vec<&str> = emails
        .iter()
        .map(|e| e["order_id"].as_str().unwrap())
        .collect();
    let expected: Vec<String> = orders.iter().map(Uuid::to_string).collect();
    assert_eq!(listed, expected, "oldest first");
    let keys: Vec<&String> = emails[0].as_object().unwrap().keys().collect();
    assert_eq!(keys, vec!["kind", "order_id", "sent_at", "subject", "to"]);
    app.cleanup().await;
}
