//! `GET /flows/{order_id}` and `GET /flows`: what the tracker recorded, in order, with causes.

use chrono::Utc;
use contracts::billing::{PaymentCharged, PaymentRefunded};
use contracts::logistics::{ReservedLine, StockReleased, StockReserved};
use contracts::mailer::{EmailKind, EmailSent};
use contracts::order::{CancelReason, OrderCancelled, OrderConfirmed, OrderLine, OrderSubmitted};
use event_bus::OutgoingMessage;
use uuid::Uuid;

use crate::helpers::{routing_keys, spawn_app, spawn_app_with};

fn submitted(order_id: Uuid) -> OrderSubmitted {
    let lines = vec![OrderLine {
        sku: "BOOK-1".into(),
        quantity: 2,
        unit_price_cents: 1250,
    }];
    OrderSubmitted {
        order_id,
        customer_id: "c-42".into(),
        email: "ada@example.com".into(),
        currency: "EUR".into(),
        total_cents: OrderSubmitted::total_of(&lines),
        lines,
        submitted_at: Utc::now(),
    }
}

fn charged(order_id: Uuid) -> PaymentCharged {
    PaymentCharged {
        order_id,
        customer_id: "c-42".into(),
        amount_cents: 2500,
    }
}

fn reserved(order_id: Uuid) -> StockReserved {
    StockReserved {
        order_id,
        lines: vec![ReservedLine {
            sku: "BOOK-1".into(),
            quantity: 2,
        }],
    }
}

fn cancelled(order_id: Uuid) -> OrderCancelled {
    OrderCancelled {
        order_id,
        customer_id: "c-42".into(),
        email: "ada@example.com".into(),
        reason: CancelReason::Timeout,
        detail: None,
    }
}

#[tokio::test]
async fn a_flow_lists_its_events_in_order_each_with_what_caused_it() {
    let app = spawn_app().await;
    let order_id = Uuid::new_v4();
    let submit = app
        .publish("order", &submitted(order_id), order_id, None)
        .await;
    let charge = app
        .publish("billing", &charged(order_id), order_id, Some(submit))
        .await;
    let reserve = app
        .publish("logistics", &reserved(order_id), order_id, Some(submit))
        .await;
    let confirmed = OrderConfirmed {
        order_id,
        customer_id: "c-42".into(),
        email: "ada@example.com".into(),
        total_cents: 2500,
        currency: "EUR".into(),
    };
    let confirm = app
        .publish("order", &confirmed, order_id, Some(reserve))
        .await;
    let sent = EmailSent {
        order_id,
        to: "ada@example.com".into(),
        kind: EmailKind::OrderConfirmed,
        subject: "Your order is confirmed".into(),
    };
    app.publish("mailer", &sent, order_id, Some(confirm)).await;

    let flow = app.flow_with(order_id, 5).await;
    assert_eq!(flow["order_id"], order_id.to_string());
    assert_eq!(
        routing_keys(&flow),
        [
            "order.v2.submit",
            "billing.v1.charged",
            "logistics.v1.reserved",
            "order.v1.confirmed",
            "mailer.v1.sent"
        ]
    );
    let events = flow["events"].as_array().unwrap();
    assert_eq!(events[0]["message_id"], submit.to_string());
    assert_eq!(events[0]["producer"], "order");
    assert!(events[0]["caused_by"].is_null());
    assert_eq!(
        events[0]["consumers"],
        serde_json::json!(["billing", "logistics"])
    );
    assert_eq!(events[1]["message_id"], charge.to_string());
    assert_eq!(events[1]["caused_by"]["message_id"], submit.to_string());
    assert_eq!(events[1]["caused_by"]["routing_key"], "order.v2.submit");
    assert_eq!(
        events[3]["caused_by"]["routing_key"],
        "logistics.v1.reserved"
    );
    assert_eq!(events[4]["caused_by"]["routing_key"], "order.v1.confirmed");
    assert_eq!(events[4]["producer"], "mailer");
    assert_eq!(events[1]["payload"]["amount_cents"], 2500);
    assert!(events.iter().all(|e| e["compensation"] == false));
    assert_eq!(
        flow["services"],
        serde_json::json!(["order", "billing", "logistics", "mailer", "loyalty"])
    );
    app.cleanup().await;
}

#[tokio::test]
async fn compensations_are_marked_and_the_flow_counts_as_compensated() {
    let app = spawn_app().await;
    let order_id = Uuid::new_v4();
    let cancel = app
        .publish("order", &cancelled(order_id), order_id, None)
        .await;
    let refund = PaymentRefunded {
        order_id,
        customer_id: "c-42".into(),
        amount_cents: 2500,
    };
    app.publish("billing", &refund, order_id, Some(cancel))
        .await;
    let release = StockReleased {
        order_id,
        lines: reserved(order_id).lines,
    };
    app.publish("logistics", &release, order_id, Some(cancel))
        .await;

    let flow = app.flow_with(order_id, 3).await;
    let events = flow["events"].as_array().unwrap();
    assert!(events.iter().all(|e| e["compensation"] == true), "{flow}");
    let (status, recent) = app.get("/flows?limit=5").await;
    assert_eq!(status, 200);
    let summary = &recent["flows"][0];
    assert_eq!(summary["order_id"], order_id.to_string());
    assert_eq!(summary["events"], 3);
    assert_eq!(summary["compensated"], true);
    app.cleanup().await;
}

#[tokio::test]
async fn a_message_delivered_twice_is_stored_once() {
    // One message at a time, in queue order: once the last is stored, the copy was handled.
    let app = spawn_app_with(|settings| {
        settings.bus.concurrency = 1;
        settings.bus.prefetch = 1;
    })
    .await;
    let order_id = Uuid::new_v4();
    let message = OutgoingMessage::new(&submitted(order_id), order_id.to_string(), None).unwrap();
    app.publish_message("order", &message).await;
    app.publish_message("order", &message).await;
    app.publish(
        "billing",
        &charged(order_id),
        order_id,
        Some(Uuid::parse_str(message.message_id()).expect("a UUID")),
    )
    .await;

    let flow = app.flow_with(order_id, 2).await;
    assert_eq!(
        routing_keys(&flow),
        ["order.v2.submit", "billing.v1.charged"]
    );
    let (_, recent) = app.get("/flows").await;
    assert_eq!(recent["flows"][0]["events"], 2);
    app.cleanup().await;
}

#[tokio::test]
async fn recent_flows_list_the_latest_order_first() {
    let app = spawn_app().await;
    let (first, second) = (Uuid::new_v4(), Uuid::new_v4());
    app.publish("order", &submitted(first), first, None).await;
    app.flow_with(first, 1).await;
    app.publish("order", &submitted(second), second, None).await;
    app.flow_with(second, 1).await;

    let (status, body) = app.get("/flows?limit=20").await;
    assert_eq!(status, 200);
    let ids: Vec<&str> = body["flows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|flow| flow["order_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [second.to_string(), first.to_string()]);
    assert_eq!(body["flows"][0]["last_routing_key"], "order.v2.submit");
    assert_eq!(body["flows"][0]["compensated"], false);
    let (_, one) = app.get("/flows?limit=1").await;
    assert_eq!(one["flows"].as_array().unwrap().len(), 1);
    app.cleanup().await;
}

#[tokio::test]
async fn an_order_id_that_is_not_a_uuid_is_a_400() {
    let app = spawn_app().await;
    let (status, body) = app.get("/flows/not-a-uuid").await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "bad_request");
    app.cleanup().await;
}

#[tokio::test]
async fn an_order_nothing_is_known_of_is_a_404() {
    let app = spawn_app().await;
    let (status, body) = app.get(&format!("/flows/{}", Uuid::new_v4())).await;
    assert_eq!(status, 404);
    assert_eq!(body["error"], "not_found");
    app.cleanup().await;
}

#[tokio::test]
async fn a_limit_out_of_range_is_a_422_and_a_mistyped_one_a_400() {
    let app = spawn_app().await;
    for limit in ["0", "101", "-3"] {
        let (status, body) = app.get(&format!("/flows?limit={limit}")).await;
        assert_eq!(status, 422, "limit={limit}");
        assert_eq!(body["field"], "limit");
    }
    let (status, body) = app.get("/flows?limit=ten").await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "bad_request");
    app.cleanup().await;
}
