//! The order flow end to end: the four real services (and a late subscriber) on the real broker
//! and real databases, each test on a vhost and databases of its own.

mod access;
mod catalog;
mod documents;
mod senders;
mod wiring;

use flow_tests::shop::{Options, Service, Shop};
use lapin::BasicProperties;
use serde_json::{Value, json};
use service_kit::testing::{Probe, Published};

fn statuses(order: &Value) -> Vec<String> {
    order["history"]
        .as_array()
        .expect("history")
        .iter()
        .map(|entry| entry["status"].as_str().expect("status").to_owned())
        .collect()
}

fn payments_of<'a>(customer: &'a Value, order_id: &str) -> Vec<&'a Value> {
    customer["payments"]
        .as_array()
        .expect("payments")
        .iter()
        .filter(|payment| payment["order_id"] == order_id)
        .collect()
}

#[tokio::test]
async fn an_order_goes_from_post_to_shipped_with_two_emails() {
    let shop = Shop::started(Options::default()).await;
    let id = shop.post_order("alice", "SKU-1", 2, 1999).await;

    let order = shop.order_reaches(&id, "shipped").await;
    assert_eq!(statuses(&order), ["pending", "confirmed", "shipped"]);
    assert_eq!(order["total_cents"], 3998);

    let mut kinds: Vec<String> = shop
        .emails(&id, 2)
        .await
        .iter()
        .map(|email| email["kind"].as_str().expect("kind").to_owned())
        .collect();
    kinds.sort();
    assert_eq!(kinds, ["order_confirmed", "order_shipped"]);

    let customer = shop.get(Service::Billing, "/customers/alice").await;
    let payments = payments_of(&customer, &id);
    assert_eq!(payments.len(), 1);
    assert_eq!(payments[0]["status"], "charged");
    assert_eq!(payments[0]["amount_cents"], 3998);

    let stock = shop.get(Service::Logistics, "/stock/SKU-1").await;
    assert_eq!(stock["reserved"], 0, "shipped stock is no longer reserved");
    let default_stock = logistics::load_settings()
        .expect("settings")
        .service
        .default_stock;
    assert_eq!(stock["on_hand"], i64::from(default_stock) - 2);
    shop.cleanup().await;
}

#[tokio::test]
async fn a_declined_payment_cancels_the_order_and_releases_the_reservation() {
    let shop = Shop::started(Options::default()).await;
    shop.put(
        Service::Billing,
        "/customers/bob",
        json!({"credit_limit_cents": 1000}),
    )
    .await;
    let id = shop.post_order("bob", "SKU-2", 3, 1500).await;

    let order = shop.order_reaches(&id, "cancelled").await;
    assert_eq!(order["cancel_reason"], "payment_declined");
    shop.eventually("the reservation released", || async {
        let stock = shop.get(Service::Logistics, "/stock/SKU-2").await;
        (stock["reserved"] == 0).then_some(())
    })
    .await;
    let customer = shop.get(Service::Billing, "/customers/bob").await;
    assert!(
        payments_of(&customer, &id).is_empty(),
        "nothing was charged"
    );
    assert_eq!(customer["available_cents"], 1000);

    let emails = shop.emails(&id, 1).await;
    assert_eq!(emails.len(), 1);
    assert_eq!(emails[0]["kind"], "order_cancelled");
    shop.cleanup().await;
}

#[tokio::test]
async fn an_out_of_stock_order_is_cancelled_and_its_charge_refunded() {
    let shop = Shop::started(Options::default()).await;
    shop.put(Service::Logistics, "/stock/SKU-RARE", json!({"on_hand": 1}))
        .await;
    let id = shop.post_order("carol", "SKU-RARE", 2, 500).await;

    let order = shop.order_reaches(&id, "cancelled").await;
    assert_eq!(order["cancel_reason"], "out_of_stock");
    let customer = shop
        .eventually("the charge refunded", || async {
            let customer = shop.get(Service::Billing, "/customers/carol").await;
            let refunded = payments_of(&customer, &id)
                .iter()
                .any(|payment| payment["status"] == "refunded");
            refunded.then_some(customer)
        })
        .await;
    assert_eq!(customer["available_cents"], customer["credit_limit_cents"]);
    let stock = shop.get(Service::Logistics, "/stock/SKU-RARE").await;
    assert_eq!(
        (stock["on_hand"].clone(), stock["reserved"].clone()),
        (json!(1), json!(0))
    );
    shop.cleanup().await;
}

#[tokio::test]
async fn with_billing_down_an_order_times_out_and_the_late_charge_is_refunded() {
    let mut shop = Shop::started(Options {
        order_deadline_secs: 2,
        serial_billing: true,
        ..Options::default()
    })
    .await;
    shop.stop(Service::Billing).await;
    let id = shop.post_order("dave", "SKU-3", 1, 2500).await;

    let order = shop.order_reaches(&id, "cancelled").await;
    assert_eq!(order["cancel_reason"], "timeout");
    shop.eventually("the reservation released", || async {
        let stock = shop.get(Service::Logistics, "/stock/SKU-3").await;
        (stock["reserved"] == 0).then_some(())
    })
    .await;

    // Billing comes back and works its queue in order: the submit (a late charge), then the
    // cancellation, which refunds it.
    shop.start(Service::Billing).await;
    let customer = shop
        .eventually("the late charge refunded", || async {
            let customer = shop.get(Service::Billing, "/customers/dave").await;
            let payments = payments_of(&customer, &id);
            (payments.len() == 1 && payments[0]["status"] == "refunded").then_some(customer)
        })
        .await;
    assert_eq!(customer["available_cents"], customer["credit_limit_cents"]);
    assert_eq!(
        shop.get(Service::Order, &format!("/orders/{id}")).await["status"],
        "cancelled"
    );
    shop.cleanup().await;
}

/// A legacy `order.v1.submit` published straight to the exchange by another producer: billing
/// charges and logistics reserves (the v1 payload upcast to v2), and the order service, which
/// never stored the order, records it as foreign and refuses it, so the charge is refunded and
/// the stock released. Nothing is left standing.
#[tokio::test]
async fn a_legacy_v1_submit_ends_cancelled_with_its_charge_refunded_and_its_stock_released() {
    let shop = Shop::started(Options::default()).await;
    let id = uuid::Uuid::new_v4().to_string();
    let legacy = json!({
        "order_id": id,
        "customer_id": "erin",
        "lines": [{"sku": "SKU-OLD", "quantity": 3, "unit_price_cents": 700}],
    });
    let channel = shop.broker.raw_channel().await;
    shop.broker
        .publish_raw(
            &channel,
            "order",
            "order.v1.submit",
            legacy.to_string().as_bytes(),
            BasicProperties::default()
                .with_message_id(uuid::Uuid::new_v4().to_string().into())
                .with_correlation_id(id.clone().into())
                .with_app_id("legacy-shop".into()),
        )
        .await;

    // Cancelled once billing has answered, and logistics' reservation heard of too.
    let order = shop
        .eventually(
            "the legacy order refused, its reservation known",
            || async {
                let response = shop
                    .http
                    .get(shop.url(Service::Order, &format!("/orders/{id}")))
                    .bearer_auth(shop.staff_token())
                    .send()
                    .await
                    .ok()?;
                let order: Value = response.json().await.ok()?;
                (order["status"] == "cancelled" && order["reserved_at"].is_string())
                    .then_some(order)
            },
        )
        .await;
    assert_eq!(order["origin"], "foreign");
    assert_eq!(order["customer_id"], "erin");
    assert_eq!(
        order["total_cents"], 2100,
        "billing's amount: the v1 → v2 upcast's total"
    );
    assert_eq!(order["cancel_reason"], "timeout");
    assert_eq!(statuses(&order), ["pending", "cancelled"]);

    let customer = shop
        .eventually("the legacy order's charge refunded", || async {
            let customer = shop.get(Service::Billing, "/customers/erin").await;
            let payments = payments_of(&customer, &id);
            (payments.len() == 1 && payments[0]["status"] == "refunded").then_some(customer)
        })
        .await;
    assert_eq!(payments_of(&customer, &id)[0]["amount_cents"], 2100);
    assert_eq!(customer["available_cents"], customer["credit_limit_cents"]);
    // Logistics reserved (the order service recorded it), so released when it reads 0 again.
    let stock = shop
        .eventually("the legacy order's stock released", || async {
            let stock = shop.get(Service::Logistics, "/stock/SKU-OLD").await;
            (stock["reserved"] == 0).then_some(stock)
        })
        .await;
    let default_stock = logistics::load_settings()
        .expect("settings")
        .service
        .default_stock;
    assert_eq!(
        stock["on_hand"],
        i64::from(default_stock),
        "nothing shipped"
    );
    let stalled = shop.get(Service::Order, "/orders?stalled=true").await;
    assert_eq!(stalled["orders"], json!([]), "nothing stuck");
    shop.cleanup().await;
}

#[tokio::test]
async fn a_subscriber_added_while_the_shop_runs_gets_every_later_order_without_touching_producers()
{
    let mut shop = Shop::started(Options::default()).await;
    let before = shop.post_order("frank", "SKU-4", 1, 1000).await;
    shop.order_reaches(&before, "shipped").await;

    shop.start(Service::Loyalty).await;
    let later = [
        shop.post_order("frank", "SKU-4", 1, 2000).await,
        shop.post_order("frank", "SKU-4", 2, 1500).await,
    ];
    for id in &later {
        shop.order_reaches(id, "shipped").await;
    }
    let points = shop
        .eventually("loyalty counted both later orders", || async {
            let points = shop.get(Service::Loyalty, "/points/frank").await;
            (points["orders"] == 2).then_some(points)
        })
        .await;
    assert_eq!(points["points"], (2000 + 3000) / 100);
    shop.cleanup().await;
}

/// The `traceparent` header of a message: `(trace id, span id)`.
fn trace_of(message: &Published) -> (String, String) {
    let value = message.header("traceparent").expect("a traceparent header");
    let parts: Vec<&str> = value.split('-').collect();
    assert_eq!(parts.len(), 4, "{value}");
    (parts[1].to_owned(), parts[2].to_owned())
}

#[tokio::test]
async fn the_trace_of_the_http_request_is_carried_by_every_event_it_causes() {
    let shop = Shop::started(Options::default()).await;
    shop.set_price("SKU-T", 500).await;
    let probe = Probe::bind(&shop.broker, "order.#").await;
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let caller_span = "00f067aa0ba902b7";
    let response = shop
        .http
        .post(shop.url(Service::Order, "/orders"))
        .bearer_auth(shop.customer_token("tracy"))
        .header("traceparent", format!("00-{trace_id}-{caller_span}-01"))
        .json(&json!({
            "email": "tracy@example.com",
            "currency": "EUR",
            "lines": [{"sku": "SKU-T", "quantity": 1}],
        }))
        .send()
        .await
        .expect("POST /orders");
    assert_eq!(response.status(), 202);
    let answered = response.headers()["traceparent"]
        .to_str()
        .expect("text")
        .to_owned();
    assert!(answered.contains(trace_id), "{answered}");

    let submitted = probe.next().await;
    assert_eq!(submitted.routing_key, "order.v2.submit");
    let (submit_trace, submit_span) = trace_of(&submitted);
    assert_eq!(submit_trace, trace_id);
    assert_eq!(submit_span.len(), 16);
    assert_ne!(submit_span, caller_span, "the message is a hop of its own");

    let confirmed = probe.next().await;
    assert_eq!(confirmed.routing_key, "order.v1.confirmed");
    let (confirm_trace, confirm_span) = trace_of(&confirmed);
    assert_eq!(
        confirm_trace, trace_id,
        "billing's and logistics' answers carried the trace on"
    );
    assert_ne!(confirm_span, submit_span);
    shop.cleanup().await;
}

#[tokio::test]
async fn metrics_show_http_requests_and_the_bus_at_work() {
    let shop = Shop::started(Options::default()).await;
    let id = shop.post_order("mia", "SKU-M", 1, 100).await;
    shop.order_reaches(&id, "shipped").await;
    let response = shop
        .http
        .get(shop.url(Service::Billing, "/metrics"))
        .send()
        .await
        .expect("GET /metrics");
    assert_eq!(response.status(), 200);
    let page = response.text().await.expect("a text body");
    for metric in [
        "http_requests_total{",
        "bus_messages_published_total{",
        "bus_messages_handled_total{",
        "bus_handler_duration_seconds_bucket{",
    ] {
        assert!(
            page.lines().any(|line| line.starts_with(metric)),
            "no {metric} line in:\n{page}"
        );
    }
    assert!(page.contains("route=\"/orders\""), "{page}");
    shop.cleanup().await;
}
