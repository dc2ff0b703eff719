//! One email per confirmed, cancelled or shipped order, whatever the order and number of the
//! triggering messages.

use std::time::Duration;

use chrono::Utc;
use contracts::logistics::OrderShipped;
use contracts::mailer::EmailKind;
use contracts::order::{CancelReason, OrderCancelled, OrderConfirmed};
use event_bus::topology::{retry_queue, service_queue};
use service_kit::testing::eventually;
use uuid::Uuid;

use crate::helpers::{headers_of, spawn_app, spawn_app_with};

fn confirmed(order_id: Uuid, email: &str) -> OrderConfirmed {
    OrderConfirmed {
        order_id,
        customer_id: "c-7".into(),
        email: email.into(),
        total_cents: 3097,
        currency: "EUR".into(),
    }
}

fn short(order_id: Uuid) -> String {
    order_id.simple().to_string()[..8].to_owned()
}

#[tokio::test]
async fn a_confirmed_order_is_emailed_once_as_an_eml_file_and_announced() {
    let app = spawn_app().await;
    let order_id = Uuid::new_v4();

    app.publish(&confirmed(order_id, "ada@example.com")).await;

    let emails = app.wait_for_sent(order_id, 1).await;
    let subject = format!("Your order {} is confirmed", short(order_id));
    assert_eq!(emails.len(), 1);
    assert_eq!(emails[0]["order_id"], order_id.to_string());
    assert_eq!(emails[0]["to"], "ada@example.com");
    assert_eq!(emails[0]["kind"], "order_confirmed");
    assert_eq!(emails[0]["subject"], subject.as_str());

    let files = app.eml_files();
    assert_eq!(files.len(), 1, "one .eml file");
    let headers = headers_of(&files[0]);
    assert!(headers.contains("To: ada@example.com"), "{headers}");
    assert!(
        headers.contains(&format!("Subject: {subject}")),
        "{headers}"
    );
    assert!(headers.contains("From: shop@example.com"), "{headers}");
    assert!(files[0].contains("30.97 EUR"), "the body gives the total");

    let sent = app.take_sent().await;
    assert_eq!(sent.order_id, order_id);
    assert_eq!(sent.to, "ada@example.com");
    assert_eq!(sent.kind, EmailKind::OrderConfirmed);
    assert_eq!(sent.subject, subject);
    app.cleanup().await;
}

#[tokio::test]
async fn a_cancelled_order_is_emailed_with_the_reason() {
    let app = spawn_app().await;
    let order_id = Uuid::new_v4();

    app.publish(&OrderCancelled {
        order_id,
        customer_id: "c-8".into(),
        email: "bob@example.com".into(),
        reason: CancelReason::PaymentDeclined,
        detail: Some("credit limit reached".into()),
    })
    .await;

    let emails = app.wait_for_sent(order_id, 1).await;
    let subject = format!(
        "Your order {} was cancelled (payment declined)",
        short(order_id)
    );
    assert_eq!(emails[0]["kind"], "order_cancelled");
    assert_eq!(emails[0]["to"], "bob@example.com");
    assert_eq!(emails[0]["subject"], subject.as_str());
    let files = app.eml_files();
    assert_eq!(files.len(), 1);
    assert!(
        files[0].contains("Reason: payment declined"),
        "{}",
        files[0]
    );
    assert!(files[0].contains("credit limit reached"), "{}", files[0]);
    let sent = app.take_sent().await;
    assert_eq!(sent.kind, EmailKind::OrderCancelled);
    assert_eq!(sent.subject, subject);
    app.cleanup().await;
}

#[tokio::test]
async fn a_shipment_arriving_before_its_confirmation_is_retried_and_emailed_once_the_address_is_known()
 {
    // Retry delays long enough to see the shipment wait in the first retry queue.
    let delays = vec![1_500, 3_000, 6_000];
    let app = spawn_app_with(|settings| settings.bus.retry_delays_ms = delays.clone()).await;
    let order_id = Uuid::new_v4();

    app.publish(&OrderShipped {
        order_id,
        tracking_number: "TRK-1234".into(),
        shipped_at: Utc::now(),
    })
    .await;
    let first_retry = retry_queue(&service_queue("mailer"), Duration::from_millis(delays[0]));
    eventually("the shipment put back for a retry", || async {
        (app.queue_length(&first_retry).await > 0).then_some(())
    })
    .await;
    assert!(
        app.emails_of(order_id).await.is_empty(),
        "nothing is sent without an address"
    );

    app.publish(&confirmed(order_id, "cy@example.com")).await;

    let emails = app.wait_for_sent(order_id, 2).await;
    let kinds: Vec<&str> = emails.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, vec!["order_confirmed", "order_shipped"]);
    assert_eq!(emails[1]["to"], "cy@example.com");
    assert_eq!(
        emails[1]["subject"],
        format!(
            "Your order {} has shipped (tracking TRK-1234)",
            short(order_id)
        )
        .as_str()
    );
    assert_eq!(app.eml_files().len(), 2);
    let mut sent = vec![app.take_sent().await.kind, app.take_sent().await.kind];
    sent.sort_by_key(|kind| kind.as_str());
    assert_eq!(
        sent,
        vec![EmailKind::OrderConfirmed, EmailKind::OrderShipped]
    );
    app.cleanup().await;
}

#[tokio::test]
async fn the_same_event_published_twice_is_emailed_once() {
    let app = spawn_app().await;
    let order_id = Uuid::new_v4();
    let event = confirmed(order_id, "dee@example.com");

    let first = app.publish(&event).await;
    let second = app.publish(&event).await;
    assert_ne!(first, second, "two messages, not one delivered twice");
    app.wait_until_handled(&[first, second]).await;
    app.outbox_flushed().await;

    assert_eq!(app.emails_of(order_id).await.len(), 1);
    assert_eq!(app.eml_files().len(), 1);
    assert_eq!(app.take_sent().await.order_id, order_id);
    assert_eq!(app.probe.waiting().await, 0, "a single EmailSent");
    app.cleanup().await;
}

#[tokio::test]
async fn an_order_without_an_address_has_its_email_recorded_but_not_sent() {
    let app = spawn_app().await;
    let order_id = Uuid::new_v4();

    let message_id = app.publish(&confirmed(order_id, "")).await;
    app.wait_until_handled(&[message_id]).await;
    app.outbox_flushed().await;

    let emails = app.emails_of(order_id).await;
    assert_eq!(emails.len(), 1);
    assert_eq!(emails[0]["to"], "");
    assert_eq!(emails[0]["kind"], "order_confirmed");
    assert!(emails[0]["sent_at"].is_null(), "not sent: {emails:?}");
    assert!(app.eml_files().is_empty());
    assert_eq!(app.probe.waiting().await, 0);
    app.cleanup().await;
}
